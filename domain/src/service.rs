//! The Service aggregate (послуга): the purpose a partner asks for documents, the package of
//! documents it needs, how long the copies are kept, and the QR code that starts a request.

use std::collections::BTreeSet;

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::documents::DocumentType;
use crate::identifiers::EmailAddress;
use crate::moderation::{ModerationError, NameReview};
use crate::names::{NameError, ServiceName};
use crate::partner::PartnerStatus;
use crate::text::{self, TextError};
use crate::{RuleKind, RuleViolation, EVENT_VERSION};

/// What the partner states before listing documents: it has a legal basis to process them under
/// the Law of Ukraine "On Personal Data Protection".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalBasis {
    pub acknowledged: bool,
    /// The partner's own words: which article or contract gives the basis.
    pub statement: String,
}

impl LegalBasis {
    /// An article and a contract's name fit many times over; a copy prints the statement.
    pub const MAX_STATEMENT_CHARS: usize = 1000;
}

/// How the branch a service is attached to stands, as the Service aggregate needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchStanding {
    pub branch_exists: bool,
    pub branch_partner_id: Option<Uuid>,
    pub email_confirmed: bool,
    pub partner_status: PartnerStatus,
    /// The branch was removed by moderation.
    #[serde(default)]
    pub branch_removed: bool,
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
    /// The partner renames the service: the new names serve at once and wait for moderation.
    Rename {
        names: String,
        partner_status: PartnerStatus,
    },
    /// An operator approves the revision of the names they saw.
    ApproveNames {
        revision: u32,
    },
    /// An operator removes the service for its names: its QR stops working, and the partner is
    /// told at `notify` (the profile's address, when it has one).
    RemoveByModeration {
        revision: u32,
        reason: String,
        notify: Option<EmailAddress>,
    },
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
    Renamed {
        names: Vec<ServiceName>,
        revision: u32,
    },
    NamesApproved {
        revision: u32,
    },
    RemovedByModeration {
        revision: u32,
        names: Vec<ServiceName>,
        reason: String,
        notified: Option<EmailAddress>,
    },
}

impl DomainEvent for ServiceEvent {
    fn event_type(&self) -> String {
        match self {
            Self::Created { .. } => "ServiceCreated",
            Self::QrIssued { .. } => "ServiceQrIssued",
            Self::QrRevoked { .. } => "ServiceQrRevoked",
            Self::Deactivated => "ServiceDeactivated",
            Self::Renamed { .. } => "ServiceRenamed",
            Self::NamesApproved { .. } => "ServiceNamesApproved",
            Self::RemovedByModeration { .. } => "ServiceRemovedByModeration",
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
    #[error("правові підстави: {0}")]
    LegalBasisStatement(TextError),
    #[error("строк зберігання копій має бути від 1 до 3650 днів")]
    RetentionOutOfRange,
    #[error("QR-код запрацює після підтвердження електронної пошти відділення")]
    BranchEmailNotConfirmed,
    #[error("послугу деактивовано")]
    Deactivated,
    #[error("у послуги немає чинного QR-коду")]
    NoActiveQr,
    #[error("відділення видалено модерацією Дія.QR: його послуги не працюють")]
    BranchRemoved,
    #[error("нові назви такі самі, як чинні")]
    NamesUnchanged,
    #[error("послугу видалено модерацією Дія.QR: створіть нову з належною назвою")]
    RemovedByModeration,
    #[error(transparent)]
    Moderation(#[from] ModerationError),
}

impl RuleViolation for ServiceError {
    fn kind(&self) -> RuleKind {
        match self {
            Self::NotFound | Self::BranchNotFound | Self::NoActiveQr => RuleKind::NotFound,
            Self::AlreadyExists | Self::NamesUnchanged => RuleKind::Conflict,
            Self::BranchRemoved | Self::RemovedByModeration => RuleKind::Gone,
            Self::Moderation(e) => e.kind(),
            Self::PartnerNotActive(_)
            | Self::Name(_)
            | Self::NoDocuments
            | Self::DuplicateDocument(_)
            | Self::LegalBasisMissing
            | Self::LegalBasisStatement(_)
            | Self::RetentionOutOfRange
            | Self::BranchEmailNotConfirmed
            | Self::Deactivated => RuleKind::Invalid,
        }
    }
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
            Self::LegalBasisStatement(_) => "legal-basis-invalid",
            Self::RetentionOutOfRange => "retention-out-of-range",
            Self::BranchEmailNotConfirmed => "branch-email-not-confirmed",
            Self::Deactivated => "service-deactivated",
            Self::NoActiveQr => "qr-not-issued",
            Self::BranchRemoved => "branch-removed-by-moderation",
            Self::NamesUnchanged => "service-names-unchanged",
            Self::RemovedByModeration => "service-removed-by-moderation",
            Self::Moderation(e) => e.code(),
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
    RemovedByModeration,
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
    #[serde(default)]
    review: NameReview,
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

    /// The current revision of the names and where its moderation stands.
    pub fn review(&self) -> NameReview {
        self.review
    }

    /// Checks a scanned token's digest against the service's current QR.
    /// Whether the service has a QR that scans (issued and not revoked).
    pub fn has_active_qr(&self) -> bool {
        self.current_digest.is_some()
    }

    pub fn check_qr_token(&self, token_digest: &str) -> Result<u32, QrTokenProblem> {
        if self.review.is_removed() {
            return Err(QrTokenProblem::RemovedByModeration);
        }
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
        if branch.branch_removed {
            return Err(ServiceError::BranchRemoved);
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
                let legal_basis = LegalBasis {
                    acknowledged: true,
                    statement: text::line(&legal_basis.statement, LegalBasis::MAX_STATEMENT_CHARS)
                        .map_err(ServiceError::LegalBasisStatement)?,
                };
                if !(1..=3650).contains(&retention_days) {
                    return Err(ServiceError::RetentionOutOfRange);
                }
                ServiceEvent::Created { service_id, partner_id, branch_id, names, documents, legal_basis, retention_days }
            }
            _ if !self.exists() => return Err(ServiceError::NotFound),
            _ if self.review.is_removed() => return Err(ServiceError::RemovedByModeration),
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
            ServiceCommand::Rename { names, partner_status } => {
                if partner_status != PartnerStatus::Active {
                    return Err(ServiceError::PartnerNotActive(partner_status));
                }
                let names = ServiceName::parse_list(&names)?;
                if names == self.names {
                    return Err(ServiceError::NamesUnchanged);
                }
                ServiceEvent::Renamed { names, revision: self.review.next_revision() }
            }
            ServiceCommand::ApproveNames { revision } => {
                self.review.check_approval(revision)?;
                ServiceEvent::NamesApproved { revision }
            }
            ServiceCommand::RemoveByModeration { revision, reason, notify } => {
                let reason = self.review.check_removal(revision, &reason)?;
                ServiceEvent::RemovedByModeration { revision, names: self.names.clone(), reason, notified: notify }
            }
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
                self.review.submitted(1);
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
            ServiceEvent::Renamed { names, revision } => {
                self.names = names;
                self.review.submitted(revision);
            }
            ServiceEvent::NamesApproved { .. } => self.review.approved(),
            ServiceEvent::RemovedByModeration { .. } => self.review.removed(),
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
            branch_removed: false,
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

    fn issue(branch: BranchStanding, digest: &str) -> ServiceCommand {
        ServiceCommand::IssueQr { branch, token_digest: digest.into(), short_code: format!("{}SHORT", digest.to_uppercase()) }
    }
    fn issued(qr_version: u32, digest: &str) -> ServiceEvent {
        ServiceEvent::QrIssued { qr_version, token_digest: digest.into(), short_code: format!("{}SHORT", digest.to_uppercase()) }
    }
    /// A service whose QR (version 1, digest d1) is in use.
    fn with_qr() -> Vec<ServiceEvent> {
        vec![created(vec![DocumentType::InternalPassport]), issued(1, "d1")]
    }
    fn deactivated() -> Vec<ServiceEvent> {
        let mut events = with_qr();
        events.push(ServiceEvent::Deactivated);
        events
    }
    fn create_with(change: impl FnOnce(&mut BranchStanding, &mut LegalBasis, &mut u32)) -> ServiceCommand {
        let mut cmd = create("для поселення у готель", vec![DocumentType::InternalPassport]);
        if let ServiceCommand::Create { branch, legal_basis, retention_days, .. } = &mut cmd {
            change(branch, legal_basis, retention_days);
        }
        cmd
    }

    // Create

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
            .then_expect_error(ServiceError::NoDocuments);
        service()
            .given_no_previous_events()
            .when_async(create("для поселення у готель", vec![DocumentType::TaxpayerCard, DocumentType::TaxpayerCard]))
            .await
            .then_expect_error(ServiceError::DuplicateDocument(DocumentType::TaxpayerCard.title_uk()));
    }

    #[tokio::test]
    async fn a_service_is_created_once() {
        service()
            .given(vec![created(vec![DocumentType::InternalPassport])])
            .when_async(create("для поселення у готель", vec![DocumentType::InternalPassport]))
            .await
            .then_expect_error(ServiceError::AlreadyExists);
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
    async fn a_service_needs_an_existing_branch_of_the_same_partner() {
        let cmd = create_with(|branch, _, _| branch.branch_exists = false);
        service().given_no_previous_events().when_async(cmd).await.then_expect_error(ServiceError::BranchNotFound);
        let cmd = create_with(|branch, _, _| branch.branch_partner_id = Some(Uuid::from_u128(0xa2)));
        service().given_no_previous_events().when_async(cmd).await.then_expect_error(ServiceError::BranchNotFound);
    }

    #[tokio::test]
    async fn no_service_before_the_accession_application_is_signed() {
        for status in [PartnerStatus::Unregistered, PartnerStatus::Onboarding, PartnerStatus::Suspended] {
            let cmd = create_with(|branch, _, _| branch.partner_status = status);
            service().given_no_previous_events().when_async(cmd).await.then_expect_error(ServiceError::PartnerNotActive(status));
        }
    }

    #[tokio::test]
    async fn forbidden_service_names_and_a_missing_legal_basis_are_refused() {
        service()
            .given_no_previous_events()
            .when_async(create("для вступу, Дія", vec![DocumentType::InternalPassport]))
            .await
            .then_expect_error(ServiceError::Name(NameError::ForbiddenServiceName("Дія".into())));
        let cmd = create_with(|_, legal_basis, _| legal_basis.acknowledged = false);
        service().given_no_previous_events().when_async(cmd).await.then_expect_error(ServiceError::LegalBasisMissing);
    }

    #[tokio::test]
    async fn a_service_name_must_state_a_purpose_once() {
        service()
            .given_no_previous_events()
            .when_async(create("поселення", vec![DocumentType::InternalPassport]))
            .await
            .then_expect_error(ServiceError::Name(NameError::ServiceNameWithoutPurpose("поселення".into())));
        service()
            .given_no_previous_events()
            .when_async(create("для вступу, ДЛЯ  вступу", vec![DocumentType::InternalPassport]))
            .await
            .then_expect_error(ServiceError::Name(NameError::DuplicateServiceName("ДЛЯ вступу".into())));
        service()
            .given_no_previous_events()
            .when_async(create("для вступу,", vec![DocumentType::InternalPassport]))
            .await
            .then_expect_error(ServiceError::Name(NameError::Empty));
    }

    #[tokio::test]
    async fn an_acknowledged_legal_basis_still_needs_a_statement() {
        let cmd = create_with(|_, legal_basis, _| legal_basis.statement = "  ".into());
        service().given_no_previous_events().when_async(cmd).await.then_expect_error(ServiceError::LegalBasisMissing);
    }

    #[tokio::test]
    async fn copies_are_kept_between_one_day_and_ten_years() {
        for days in [0, 3651] {
            let cmd = create_with(|_, _, retention_days| *retention_days = days);
            service().given_no_previous_events().when_async(cmd).await.then_expect_error(ServiceError::RetentionOutOfRange);
        }
        for days in [1, 3650] {
            let cmd = create_with(|_, _, retention_days| *retention_days = days);
            let events = service().given_no_previous_events().when_async(cmd).await.inspect_result().unwrap();
            assert!(matches!(events[..], [ServiceEvent::Created { retention_days, .. }] if retention_days == days), "{events:?}");
        }
    }

    // Every command but Create

    #[tokio::test]
    async fn an_unknown_service_has_no_qr_to_issue_revoke_or_deactivate() {
        for cmd in [issue(standing(true), "d1"), ServiceCommand::RevokeQr, ServiceCommand::Deactivate] {
            service().given_no_previous_events().when_async(cmd).await.then_expect_error(ServiceError::NotFound);
        }
    }

    // IssueQr

    #[tokio::test]
    async fn no_qr_before_the_branch_email_is_confirmed() {
        service()
            .given(vec![created(vec![DocumentType::InternalPassport])])
            .when_async(issue(standing(false), "d1"))
            .await
            .then_expect_error(ServiceError::BranchEmailNotConfirmed);
        service()
            .given(vec![created(vec![DocumentType::InternalPassport])])
            .when_async(issue(standing(true), "d1"))
            .await
            .then_expect_events(vec![issued(1, "d1")]);
    }

    #[tokio::test]
    async fn issuing_again_rotates_the_qr_to_a_new_version() {
        service().given(with_qr()).when_async(issue(standing(true), "d2")).await.then_expect_events(vec![issued(2, "d2")]);
    }

    #[tokio::test]
    async fn no_qr_for_a_branch_that_is_gone_or_another_partners() {
        let mut gone = standing(true);
        gone.branch_exists = false;
        service().given(with_qr()).when_async(issue(gone, "d2")).await.then_expect_error(ServiceError::BranchNotFound);
        let mut foreign = standing(true);
        foreign.branch_partner_id = Some(Uuid::from_u128(0xa2));
        service().given(with_qr()).when_async(issue(foreign, "d2")).await.then_expect_error(ServiceError::BranchNotFound);
    }

    #[tokio::test]
    async fn no_qr_while_the_partner_is_suspended() {
        let mut suspended = standing(true);
        suspended.partner_status = PartnerStatus::Suspended;
        service()
            .given(with_qr())
            .when_async(issue(suspended, "d2"))
            .await
            .then_expect_error(ServiceError::PartnerNotActive(PartnerStatus::Suspended));
    }

    // RevokeQr

    #[tokio::test]
    async fn the_current_qr_is_revoked() {
        service()
            .given(with_qr())
            .when_async(ServiceCommand::RevokeQr)
            .await
            .then_expect_events(vec![ServiceEvent::QrRevoked { qr_version: 1 }]);
    }

    #[tokio::test]
    async fn there_is_nothing_to_revoke_before_a_qr_is_issued_or_after_it_was_revoked() {
        service()
            .given(vec![created(vec![DocumentType::InternalPassport])])
            .when_async(ServiceCommand::RevokeQr)
            .await
            .then_expect_error(ServiceError::NoActiveQr);
        let mut revoked = with_qr();
        revoked.push(ServiceEvent::QrRevoked { qr_version: 1 });
        service().given(revoked).when_async(ServiceCommand::RevokeQr).await.then_expect_error(ServiceError::NoActiveQr);
    }

    #[tokio::test]
    async fn a_revoked_qr_is_replaced_by_issuing_a_new_version() {
        let mut revoked = with_qr();
        revoked.push(ServiceEvent::QrRevoked { qr_version: 1 });
        service().given(revoked).when_async(issue(standing(true), "d2")).await.then_expect_events(vec![issued(2, "d2")]);
    }

    // Deactivate

    #[tokio::test]
    async fn a_service_is_deactivated() {
        service().given(with_qr()).when_async(ServiceCommand::Deactivate).await.then_expect_events(vec![ServiceEvent::Deactivated]);
    }

    #[tokio::test]
    async fn a_deactivated_service_takes_no_more_commands() {
        for cmd in [issue(standing(true), "d2"), ServiceCommand::RevokeQr, ServiceCommand::Deactivate] {
            service().given(deactivated()).when_async(cmd).await.then_expect_error(ServiceError::Deactivated);
        }
        service()
            .given(deactivated())
            .when_async(create("для поселення у готель", vec![DocumentType::InternalPassport]))
            .await
            .then_expect_error(ServiceError::AlreadyExists);
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

    // Rename and moderation

    fn rename(names: &str) -> ServiceCommand {
        ServiceCommand::Rename { names: names.into(), partner_status: PartnerStatus::Active }
    }
    fn removal(revision: u32) -> ServiceCommand {
        ServiceCommand::RemoveByModeration {
            revision,
            reason: "назва не показує мети".into(),
            notify: Some(EmailAddress::parse("head@palazzo.ua").unwrap()),
        }
    }
    fn removed_by_moderation() -> Vec<ServiceEvent> {
        let mut events = with_qr();
        events.push(ServiceEvent::RemovedByModeration {
            revision: 1,
            names: ServiceName::parse_list("для поселення у готель").unwrap(),
            reason: "назва не показує мети".into(),
            notified: Some(EmailAddress::parse("head@palazzo.ua").unwrap()),
        });
        events
    }

    #[tokio::test]
    async fn renamed_services_wait_for_moderation_as_a_new_revision() {
        service().given(with_qr()).when_async(rename("для поселення у готель, для бронювання номера")).await.then_expect_events(vec![
            ServiceEvent::Renamed {
                names: ServiceName::parse_list("для поселення у готель, для бронювання номера").unwrap(), revision: 2
            },
        ]);
        service()
            .given(with_qr())
            .when_async(rename("Дія"))
            .await
            .then_expect_error(ServiceError::Name(NameError::ForbiddenServiceName("Дія".into())));
        service().given(with_qr()).when_async(rename("для поселення у готель")).await.then_expect_error(ServiceError::NamesUnchanged);
    }

    #[tokio::test]
    async fn an_operator_approves_the_revision_they_saw() {
        service()
            .given(with_qr())
            .when_async(ServiceCommand::ApproveNames { revision: 1 })
            .await
            .then_expect_events(vec![ServiceEvent::NamesApproved { revision: 1 }]);
        let mut renamed = with_qr();
        renamed.push(ServiceEvent::Renamed { names: ServiceName::parse_list("для бронювання").unwrap(), revision: 2 });
        service()
            .given(renamed)
            .when_async(ServiceCommand::ApproveNames { revision: 1 })
            .await
            .then_expect_error(ServiceError::Moderation(ModerationError::StaleRevision { current: 2 }));
    }

    #[tokio::test]
    async fn a_removed_service_stops_its_qr_and_takes_no_more_commands() {
        service().given(with_qr()).when_async(removal(1)).await.then_expect_events(removed_by_moderation()[2..].to_vec());
        let mut s = Service::default();
        removed_by_moderation().into_iter().for_each(|e| s.apply(e));
        assert_eq!(s.check_qr_token("d1"), Err(QrTokenProblem::RemovedByModeration));
        for cmd in [issue(standing(true), "d2"), ServiceCommand::RevokeQr, rename("для бронювання"), removal(1)] {
            service().given(removed_by_moderation()).when_async(cmd).await.then_expect_error(ServiceError::RemovedByModeration);
        }
    }

    #[tokio::test]
    async fn no_service_and_no_qr_under_a_branch_that_moderation_removed() {
        let mut removed = standing(true);
        removed.branch_removed = true;
        service().given(with_qr()).when_async(issue(removed, "d2")).await.then_expect_error(ServiceError::BranchRemoved);
        service()
            .given_no_previous_events()
            .when_async(create_with(|branch, _, _| branch.branch_removed = true))
            .await
            .then_expect_error(ServiceError::BranchRemoved);
    }

    // Stored events

    #[tokio::test]
    async fn a_service_recorded_under_older_rules_still_loads_and_issues_its_qr() {
        // Neither name passes today's rules: one uses the brand, the other states no purpose.
        assert!(ServiceName::parse("Дія").is_err() && ServiceName::parse("поселення").is_err());
        let stored = serde_json::json!({"Created": {
            "service_id": service_id(),
            "partner_id": partner_id(),
            "branch_id": branch_id(),
            "names": ["Дія", "поселення"],
            "documents": ["internal-passport"],
            "legal_basis": {"acknowledged": true, "statement": "договір"},
            "retention_days": 30
        }});
        let event: ServiceEvent = serde_json::from_value(stored).expect("stored events load whatever today's rules say");
        let mut s = Service::default();
        s.apply(event.clone());
        assert_eq!(s.names().iter().map(ServiceName::as_str).collect::<Vec<_>>(), ["Дія", "поселення"]);
        service().given(vec![event]).when_async(issue(standing(true), "d1")).await.then_expect_events(vec![issued(1, "d1")]);
    }

    #[test]
    fn a_stored_service_event_with_a_field_this_version_does_not_know_still_loads() {
        let stored = serde_json::json!({"QrIssued": {"qr_version": 3, "token_digest": "d3", "short_code": "D3SHORT", "printed": true}});
        assert_eq!(serde_json::from_value::<ServiceEvent>(stored).unwrap(), issued(3, "d3"));
        // A field added later (`short_code`) defaults when an older event lacks it.
        let older = serde_json::json!({"QrIssued": {"qr_version": 1, "token_digest": "d1"}});
        assert_eq!(
            serde_json::from_value::<ServiceEvent>(older).unwrap(),
            ServiceEvent::QrIssued { qr_version: 1, token_digest: "d1".into(), short_code: String::new() }
        );
    }
}
