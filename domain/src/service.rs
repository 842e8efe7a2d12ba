//! The Service aggregate (послуга): the purpose a partner asks for documents, the package of
//! documents it needs, how long the copies are kept, and the QR code that starts a request.

use std::collections::BTreeSet;

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::documents::DocumentType;
use crate::names::{NameError, ServiceName};
use crate::partner::PartnerStatus;
use crate::{RuleViolation, EVENT_VERSION};

/// What the partner states before listing documents: it has a legal basis to process them under
/// the Law of Ukraine "On Personal Data Protection".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalBasis {
    pub acknowledged: bool,
    /// The partner's own words: which article or contract gives the basis.
    pub statement: String,
}

/// How the branch a service is attached to stands, as the Service aggregate needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchStanding {
    pub branch_exists: bool,
    pub branch_partner_id: Option<Uuid>,
    pub email_confirmed: bool,
    pub partner_status: PartnerStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceCommand {
    Create {
        service_id: Uuid,
        partner_id: Uuid,
        branch_id: Uuid,
        branch: BranchStanding,
        /// One or more purposes, separated by commas.
        names: String,
        documents: Vec<DocumentType>,
        legal_basis: LegalBasis,
        retention_days: u32,
    },
    /// Issues the service's QR, or replaces the current one (rotation): the old one stops working.
    IssueQr {
        branch: BranchStanding,
        token_digest: String,
        /// The human-checkable code printed beside the QR and shown in the app after a scan.
        short_code: String,
    },
    RevokeQr,
    Deactivate,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceEvent {
    Created {
        service_id: Uuid,
        partner_id: Uuid,
        branch_id: Uuid,
        names: Vec<ServiceName>,
        documents: Vec<DocumentType>,
        legal_basis: LegalBasis,
        retention_days: u32,
    },
    QrIssued {
        qr_version: u32,
        token_digest: String,
        #[serde(default)]
        short_code: String,
    },
    QrRevoked {
        qr_version: u32,
    },
    Deactivated,
}

impl DomainEvent for ServiceEvent {
    fn event_type(&self) -> String {
        match self {
            Self::Created { .. } => "ServiceCreated",
            Self::QrIssued { .. } => "ServiceQrIssued",
            Self::QrRevoked { .. } => "ServiceQrRevoked",
            Self::Deactivated => "ServiceDeactivated",
        }
        .to_string()
    }
    fn event_version(&self) -> String {
        EVENT_VERSION.to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    #[error("послугу вже створено")]
    AlreadyExists,
    #[error("послугу не знайдено")]
    NotFound,
    #[error("відділення не знайдено")]
    BranchNotFound,
    #[error("створювати послуги може лише партнер, що підписав заяву про приєднання")]
    PartnerNotActive(PartnerStatus),
    #[error(transparent)]
    Name(#[from] NameError),
    #[error("вкажіть хоча б один документ, потрібний для послуги")]
    NoDocuments,
    #[error("документ «{0}» вказано двічі")]
    DuplicateDocument(&'static str),
    #[error("перш ніж запитувати документи, підтвердьте, що маєте правові підстави для обробки персональних даних")]
    LegalBasisMissing,
    #[error("строк зберігання копій має бути від 1 до 3650 днів")]
    RetentionOutOfRange,
    #[error("QR-код запрацює після підтвердження електронної пошти відділення")]
    BranchEmailNotConfirmed,
    #[error("послугу деактивовано")]
    Deactivated,
    #[error("у послуги немає чинного QR-коду")]
    NoActiveQr,
}

impl RuleViolation for ServiceError {
    fn code(&self) -> &'static str {
        match self {
            Self::AlreadyExists => "service-already-exists",
            Self::NotFound => "service-not-found",
            Self::BranchNotFound => "branch-not-found",
            Self::PartnerNotActive(PartnerStatus::Suspended) => "partner-suspended",
            Self::PartnerNotActive(_) => "onboarding-not-finished",
            Self::Name(NameError::ForbiddenServiceName(_)) => "service-name-forbidden",
            Self::Name(NameError::ServiceNameWithoutPurpose(_)) => "service-name-without-purpose",
            Self::Name(_) => "service-name-invalid",
            Self::NoDocuments => "service-without-documents",
            Self::DuplicateDocument(_) => "service-duplicate-document",
            Self::LegalBasisMissing => "legal-basis-missing",
            Self::RetentionOutOfRange => "retention-out-of-range",
            Self::BranchEmailNotConfirmed => "branch-email-not-confirmed",
            Self::Deactivated => "service-deactivated",
            Self::NoActiveQr => "qr-not-issued",
        }
    }
}

/// Why a scanned QR token does not lead to this service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrTokenProblem {
    /// The token was this service's once, but a newer QR replaced it.
    Rotated,
    Revoked,
    /// The token names this service but was never issued for it.
    Forged,
    ServiceDeactivated,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    service_id: Option<Uuid>,
    partner_id: Option<Uuid>,
    branch_id: Option<Uuid>,
    names: Vec<ServiceName>,
    documents: Vec<DocumentType>,
    retention_days: u32,
    qr_version: u32,
    current_digest: Option<String>,
    current_short_code: String,
    retired_digests: Vec<(String, QrRetirement)>,
    deactivated: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum QrRetirement {
    Rotated,
    Revoked,
}

impl Service {
    pub fn exists(&self) -> bool {
        self.service_id.is_some()
    }
    pub fn service_id(&self) -> Option<Uuid> {
        self.service_id
    }
    pub fn partner_id(&self) -> Option<Uuid> {
        self.partner_id
    }
    pub fn branch_id(&self) -> Option<Uuid> {
        self.branch_id
    }
    pub fn names(&self) -> &[ServiceName] {
        &self.names
    }
    pub fn documents(&self) -> &[DocumentType] {
        &self.documents
    }
    pub fn retention_days(&self) -> u32 {
        self.retention_days
    }
    pub fn qr_version(&self) -> u32 {
        self.qr_version
    }
    /// The code printed beside the current QR.
    pub fn qr_short_code(&self) -> &str {
        &self.current_short_code
    }

    /// Checks a scanned token's digest against the service's current QR.
    pub fn check_qr_token(&self, token_digest: &str) -> Result<u32, QrTokenProblem> {
        if self.deactivated {
            return Err(QrTokenProblem::ServiceDeactivated);
        }
        if self.current_digest.as_deref() == Some(token_digest) {
            return Ok(self.qr_version);
        }
        match self.retired_digests.iter().find(|(d, _)| d == token_digest) {
            Some((_, QrRetirement::Rotated)) => Err(QrTokenProblem::Rotated),
            Some((_, QrRetirement::Revoked)) => Err(QrTokenProblem::Revoked),
            None => Err(QrTokenProblem::Forged),
        }
    }

    fn ensure_branch_may_serve(branch: &BranchStanding, partner_id: Uuid) -> Result<(), ServiceError> {
        if !branch.branch_exists || branch.branch_partner_id != Some(partner_id) {
            return Err(ServiceError::BranchNotFound);
        }
        if branch.partner_status != PartnerStatus::Active {
            return Err(ServiceError::PartnerNotActive(branch.partner_status));
        }
        Ok(())
    }
}

impl Aggregate for Service {
    const TYPE: &'static str = "Service";
    type Command = ServiceCommand;
    type Event = ServiceEvent;
    type Error = ServiceError;
    type Services = ();

    async fn handle(&mut self, command: ServiceCommand, _: &(), sink: &EventSink<Self>) -> Result<(), ServiceError> {
        let event = match command {
            ServiceCommand::Create { .. } if self.exists() => return Err(ServiceError::AlreadyExists),
            ServiceCommand::Create { service_id, partner_id, branch_id, branch, names, documents, legal_basis, retention_days } => {
                Self::ensure_branch_may_serve(&branch, partner_id)?;
                let names = ServiceName::parse_list(&names)?;
                if documents.is_empty() {
                    return Err(ServiceError::NoDocuments);
                }
                let mut seen = BTreeSet::new();
                if let Some(dup) = documents.iter().find(|d| !seen.insert(**d)) {
                    return Err(ServiceError::DuplicateDocument(dup.title_uk()));
                }
                if !legal_basis.acknowledged || legal_basis.statement.trim().is_empty() {
                    return Err(ServiceError::LegalBasisMissing);
                }
                if !(1..=3650).contains(&retention_days) {
                    return Err(ServiceError::RetentionOutOfRange);
                }
                ServiceEvent::Created { service_id, partner_id, branch_id, names, documents, legal_basis, retention_days }
            }
            _ if !self.exists() => return Err(ServiceError::NotFound),
            _ if self.deactivated => return Err(ServiceError::Deactivated),
            ServiceCommand::IssueQr { branch, token_digest, short_code } => {
                let partner_id = self.partner_id.ok_or(ServiceError::NotFound)?;
                Self::ensure_branch_may_serve(&branch, partner_id)?;
                if !branch.email_confirmed {
                    return Err(ServiceError::BranchEmailNotConfirmed);
                }
                ServiceEvent::QrIssued { qr_version: self.qr_version + 1, token_digest, short_code }
            }
            ServiceCommand::RevokeQr if self.current_digest.is_none() => return Err(ServiceError::NoActiveQr),
            ServiceCommand::RevokeQr => ServiceEvent::QrRevoked { qr_version: self.qr_version },
            ServiceCommand::Deactivate => ServiceEvent::Deactivated,
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: ServiceEvent) {
        match event {
            ServiceEvent::Created { service_id, partner_id, branch_id, names, documents, retention_days, .. } => {
                self.service_id = Some(service_id);
                self.partner_id = Some(partner_id);
                self.branch_id = Some(branch_id);
                self.names = names;
                self.documents = documents;
                self.retention_days = retention_days;
            }
            ServiceEvent::QrIssued { qr_version, token_digest, short_code } => {
                self.current_short_code = short_code;
                if let Some(old) = self.current_digest.replace(token_digest) {
                    self.retired_digests.push((old, QrRetirement::Rotated));
                }
                self.qr_version = qr_version;
            }
            ServiceEvent::QrRevoked { .. } => {
                if let Some(old) = self.current_digest.take() {
                    self.retired_digests.push((old, QrRetirement::Revoked));
                }
            }
            ServiceEvent::Deactivated => self.deactivated = true,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::branch::tests::{branch_id, partner_id};
    use cqrs_es::test::TestFramework;

    pub fn service_id() -> Uuid {
        Uuid::from_u128(0xc1)
    }
    pub fn standing(email_confirmed: bool) -> BranchStanding {
        BranchStanding {
            branch_exists: true,
            branch_partner_id: Some(partner_id()),
            email_confirmed,
            partner_status: PartnerStatus::Active,
        }
    }
    pub fn legal_basis() -> LegalBasis {
        LegalBasis {
            acknowledged: true, statement: "ст. 11 Закону «Про захист персональних даних»: договір".into()
        }
    }
    fn create(names: &str, documents: Vec<DocumentType>) -> ServiceCommand {
        ServiceCommand::Create {
            service_id: service_id(),
            partner_id: partner_id(),
            branch_id: branch_id(),
            branch: standing(false),
            names: names.into(),
            documents,
            legal_basis: legal_basis(),
            retention_days: 30,
        }
    }
    pub fn created(documents: Vec<DocumentType>) -> ServiceEvent {
        ServiceEvent::Created {
            service_id: service_id(),
            partner_id: partner_id(),
            branch_id: branch_id(),
            names: ServiceName::parse_list("для поселення у готель").unwrap(),
            documents,
            legal_basis: legal_basis(),
            retention_days: 30,
        }
    }
    fn service() -> TestFramework<Service> {
        TestFramework::with(())
    }

    #[tokio::test]
    async fn a_service_names_its_purposes_and_at_least_one_document() {
        service()
            .given_no_previous_events()
            .when_async(create("для поселення у готель", vec![DocumentType::InternalPassport]))
            .await
            .then_expect_events(vec![created(vec![DocumentType::InternalPassport])]);
        service()
            .given_no_previous_events()
            .when_async(create("для поселення у готель", vec![]))
            .await
            .then_expect_error_message(&ServiceError::NoDocuments.to_string());
        service()
            .given_no_previous_events()
            .when_async(create("для поселення у готель", vec![DocumentType::TaxpayerCard, DocumentType::TaxpayerCard]))
            .await
            .then_expect_error_message(&ServiceError::DuplicateDocument(DocumentType::TaxpayerCard.title_uk()).to_string());
    }

    #[tokio::test]
    async fn several_services_with_one_package_share_a_qr_by_comma_separated_names() {
        let result = service()
            .given_no_previous_events()
            .when_async(create("для вступу абітурієнтів, для працевлаштування", vec![DocumentType::InternalPassport]))
            .await
            .inspect_result()
            .unwrap();
        let ServiceEvent::Created { names, .. } = &result[0] else { panic!("{result:?}") };
        assert_eq!(names.iter().map(|n| n.as_str()).collect::<Vec<_>>(), ["для вступу абітурієнтів", "для працевлаштування"]);
    }

    #[tokio::test]
    async fn forbidden_service_names_and_a_missing_legal_basis_are_refused() {
        service()
            .given_no_previous_events()
            .when_async(create("для вступу, Дія", vec![DocumentType::InternalPassport]))
            .await
            .then_expect_error_message(&NameError::ForbiddenServiceName("Дія".into()).to_string());
        let mut cmd = create("для поселення у готель", vec![DocumentType::InternalPassport]);
        if let ServiceCommand::Create { legal_basis, .. } = &mut cmd {
            legal_basis.acknowledged = false;
        }
        service().given_no_previous_events().when_async(cmd).await.then_expect_error_message(&ServiceError::LegalBasisMissing.to_string());
    }

    #[tokio::test]
    async fn no_qr_before_the_branch_email_is_confirmed() {
        service()
            .given(vec![created(vec![DocumentType::InternalPassport])])
            .when_async(ServiceCommand::IssueQr { branch: standing(false), token_digest: "d1".into(), short_code: "D1SHORT".into() })
            .await
            .then_expect_error_message(&ServiceError::BranchEmailNotConfirmed.to_string());
        service()
            .given(vec![created(vec![DocumentType::InternalPassport])])
            .when_async(ServiceCommand::IssueQr { branch: standing(true), token_digest: "d1".into(), short_code: "D1SHORT".into() })
            .await
            .then_expect_events(vec![ServiceEvent::QrIssued { qr_version: 1, token_digest: "d1".into(), short_code: "D1SHORT".into() }]);
    }

    #[test]
    fn rotated_revoked_and_forged_tokens_are_told_apart() {
        let mut s = Service::default();
        s.apply(created(vec![DocumentType::InternalPassport]));
        s.apply(ServiceEvent::QrIssued { qr_version: 1, token_digest: "d1".into(), short_code: "D1SHORT".into() });
        s.apply(ServiceEvent::QrIssued { qr_version: 2, token_digest: "d2".into(), short_code: "D2SHORT".into() });
        assert_eq!(s.check_qr_token("d2"), Ok(2));
        assert_eq!(s.check_qr_token("d1"), Err(QrTokenProblem::Rotated));
        assert_eq!(s.check_qr_token("zz"), Err(QrTokenProblem::Forged));
        s.apply(ServiceEvent::QrRevoked { qr_version: 2 });
        assert_eq!(s.check_qr_token("d2"), Err(QrTokenProblem::Revoked));
        s.apply(ServiceEvent::Deactivated);
        assert_eq!(s.check_qr_token("d2"), Err(QrTokenProblem::ServiceDeactivated));
    }
}
