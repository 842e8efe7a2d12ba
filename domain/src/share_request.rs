//! The ShareRequest aggregate: one scan of a QR by one citizen. It snapshots what the citizen
//! saw, checks at once that every requested document exists (all or nothing), lets the citizen
//! choose among several documents of one type, then photo verification, a consent signed with
//! Diia.Signature, the send, and finally the delivery outcome. Unfinished requests expire.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use base64::prelude::{Engine as _, BASE64_STANDARD};
use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::branch::Branch;
use crate::documents::{DocumentCandidate, DocumentType, HeldDocument};
use crate::identifiers::{EmailAddress, Rnokpp};
use crate::partner::{Partner, PartnerStatus};
use crate::service::{QrTokenProblem, Service};
use crate::{RuleViolation, EVENT_VERSION};

/// What the citizen saw when they scanned: kept as it was, whatever the partner changes later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareSnapshot {
    pub partner_id: Uuid,
    pub organisation_name: String,
    pub branch_id: Uuid,
    pub branch_name: String,
    pub branch_address: String,
    pub recipient_email: EmailAddress,
    pub service_id: Uuid,
    pub service_names: Vec<String>,
    pub documents: Vec<DocumentType>,
    pub retention_days: u32,
    pub qr_version: u32,
    /// The short code printed beside the QR: the app shows it so a swapped sticker is noticed.
    #[serde(default)]
    pub qr_short_code: String,
}

/// Why a scanned QR does not start a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScanError {
    #[error("QR-код не розпізнано: він не належить жодній послузі Дія.QR")]
    UnknownQr,
    #[error("QR-код підроблено або пошкоджено: такого коду ця послуга не видавала")]
    ForgedQr,
    #[error("QR-код застарів: організація замінила його новим. Попросіть актуальний код")]
    RotatedQr,
    #[error("QR-код відкликано організацією")]
    RevokedQr,
    #[error("послуга більше не надається через Дія.QR")]
    ServiceDeactivated,
    #[error("організація тимчасово не може отримувати документи через Дія.QR")]
    PartnerNotActive,
    #[error("організація ще не підтвердила електронну пошту відділення, тож не може отримати копії")]
    BranchEmailNotConfirmed,
}

impl RuleViolation for ScanError {
    fn code(&self) -> &'static str {
        match self {
            Self::UnknownQr => "qr-unknown",
            Self::ForgedQr => "qr-forged",
            Self::RotatedQr => "qr-rotated",
            Self::RevokedQr => "qr-revoked",
            Self::ServiceDeactivated => "qr-service-deactivated",
            Self::PartnerNotActive => "qr-partner-not-active",
            Self::BranchEmailNotConfirmed => "qr-branch-email-not-confirmed",
        }
    }
}

impl ShareSnapshot {
    /// Composes what a scan shows from the three aggregates behind a QR, refusing a QR that must
    /// not work: the rules of the scan live here, not in the HTTP layer.
    pub fn for_scan(partner: &Partner, branch: &Branch, service: &Service, token_digest: &str) -> Result<Self, ScanError> {
        if !service.exists() {
            return Err(ScanError::UnknownQr);
        }
        let qr_version = service.check_qr_token(token_digest).map_err(|p| match p {
            QrTokenProblem::Rotated => ScanError::RotatedQr,
            QrTokenProblem::Revoked => ScanError::RevokedQr,
            QrTokenProblem::Forged => ScanError::ForgedQr,
            QrTokenProblem::ServiceDeactivated => ScanError::ServiceDeactivated,
        })?;
        if partner.status() != PartnerStatus::Active {
            return Err(ScanError::PartnerNotActive);
        }
        let (Some(partner_id), Some(branch_id), Some(name), Some(address)) =
            (service.partner_id(), service.branch_id(), branch.name(), branch.address())
        else {
            return Err(ScanError::UnknownQr);
        };
        let recipient_email = branch.confirmed_email().ok_or(ScanError::BranchEmailNotConfirmed)?.clone();
        Ok(Self {
            partner_id,
            organisation_name: partner.organisation_name().to_string(),
            branch_id,
            branch_name: name.as_str().to_string(),
            branch_address: address.one_line(),
            recipient_email,
            service_id: service.service_id().ok_or(ScanError::UnknownQr)?,
            service_names: service.names().iter().map(|n| n.as_str().to_string()).collect(),
            documents: service.documents().to_vec(),
            retention_days: service.retention_days(),
            qr_version,
            qr_short_code: service.qr_short_code().to_string(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("громадянина не знайдено в реєстрах")]
    UnknownCitizen,
    #[error("реєстр тимчасово недоступний: {0}")]
    Unavailable(String),
}

/// The state registries that hold citizens' documents.
#[async_trait]
pub trait DocumentRegistry: Send + Sync {
    async fn documents_of(&self, citizen: &Rnokpp) -> Result<Vec<HeldDocument>, RegistryError>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoVerdict {
    /// A live person whose face matches the document photo.
    Match,
    NoMatch,
}

/// Photo verification: liveness and face match against the registry photo.
#[async_trait]
pub trait PhotoVerification: Send + Sync {
    async fn verify(&self, citizen: &Rnokpp, photo: &[u8]) -> Result<PhotoVerdict, String>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiiaSignatureError {
    #[error("неправильний код Дія.Підпису, залишилось спроб: {attempts_left}")]
    WrongCode { attempts_left: u32 },
    #[error("Дія.Підпис заблоковано після кількох неправильних кодів; спробуйте пізніше")]
    Locked,
    #[error("потрібен Дія.Підпис: для нього потрібен паспорт у Дії")]
    NoSignatureKey,
    #[error("Дія.Підпис тимчасово недоступний: {0}")]
    Unavailable(String),
}

/// Diia.Signature: a qualified signature whose key the service keeps; the citizen's code
/// unlocks it for one signature.
#[async_trait]
pub trait DiiaSignature: Send + Sync {
    /// Signs `statement` for `citizen`; returns a detached CMS signature (DER).
    async fn sign(&self, citizen: &Rnokpp, code: &str, statement: &[u8]) -> Result<Vec<u8>, DiiaSignatureError>;
}

pub struct ShareRequestServices {
    pub registry: Arc<dyn DocumentRegistry>,
    pub photo: Arc<dyn PhotoVerification>,
    pub signature: Arc<dyn DiiaSignature>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DocumentChoice {
    pub document_type: DocumentType,
    pub document_id: String,
}

/// The statement a citizen signs: exactly what they agreed to, as JSON text. The text itself is
/// kept in the event, so the signature can be checked against the same bytes years later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentStatement {
    pub share_request_id: Uuid,
    pub citizen: Rnokpp,
    pub organisation_name: String,
    pub branch_address: String,
    pub recipient_email: EmailAddress,
    pub purposes: Vec<String>,
    pub retention_days: u32,
    pub documents: Vec<DocumentChoice>,
    pub consented_at: DateTime<Utc>,
}

// A command or event is built once and moved a few times: boxing the snapshot would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShareRequestCommand {
    Open { share_request_id: Uuid, citizen: Rnokpp, snapshot: ShareSnapshot, opened_at: DateTime<Utc>, expires_at: DateTime<Utc> },
    ChooseDocuments { choices: Vec<DocumentChoice>, at: DateTime<Utc> },
    VerifyPhoto { photo: Vec<u8>, at: DateTime<Utc> },
    Confirm { code: String, at: DateTime<Utc> },
    Send { at: DateTime<Utc> },
    Decline { at: DateTime<Utc> },
    Expire { at: DateTime<Utc> },
    RecordDelivery { accepted_at: DateTime<Utc>, message_id: String },
    RecordDeliveryFailure { at: DateTime<Utc>, reason: String },
}

#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShareRequestEvent {
    Opened {
        share_request_id: Uuid,
        citizen: Rnokpp,
        snapshot: ShareSnapshot,
        candidates: Vec<DocumentCandidate>,
        opened_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    },
    DocumentsChosen {
        choices: Vec<DocumentChoice>,
    },
    PhotoVerified {
        at: DateTime<Utc>,
    },
    ConsentSigned {
        statement: String,
        signature_base64: String,
        signed_at: DateTime<Utc>,
    },
    /// The copies' data as sent: what each PDF shows.
    Sent {
        copies: Vec<HeldDocument>,
        recipient_email: EmailAddress,
        sent_at: DateTime<Utc>,
    },
    Delivered {
        accepted_at: DateTime<Utc>,
        message_id: String,
    },
    DeliveryFailed {
        at: DateTime<Utc>,
        reason: String,
    },
    Declined {
        at: DateTime<Utc>,
    },
    Expired {
        at: DateTime<Utc>,
    },
}

impl DomainEvent for ShareRequestEvent {
    fn event_type(&self) -> String {
        match self {
            Self::Opened { .. } => "ShareRequestOpened",
            Self::DocumentsChosen { .. } => "ShareRequestDocumentsChosen",
            Self::PhotoVerified { .. } => "ShareRequestPhotoVerified",
            Self::ConsentSigned { .. } => "ShareRequestConsentSigned",
            Self::Sent { .. } => "ShareRequestSent",
            Self::Delivered { .. } => "ShareRequestDelivered",
            Self::DeliveryFailed { .. } => "ShareRequestDeliveryFailed",
            Self::Declined { .. } => "ShareRequestDeclined",
            Self::Expired { .. } => "ShareRequestExpired",
        }
        .to_string()
    }
    fn event_version(&self) -> String {
        EVENT_VERSION.to_string()
    }
}

fn titles(types: &[DocumentType]) -> String {
    types.iter().map(|t| format!("«{}»", t.title_uk())).collect::<Vec<_>>().join(", ")
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareRequestError {
    #[error("запит уже створено")]
    AlreadyOpened,
    #[error("запит не знайдено")]
    NotFound,
    #[error("у вас немає документів, потрібних для цієї послуги: {}. Тому жоден документ не буде надіслано", titles(.0))]
    MissingDocuments(Vec<DocumentType>),
    #[error(transparent)]
    Registry(RegistryError),
    #[error("час запиту минув: відскануйте QR-код ще раз")]
    Expired,
    #[error("документ «{document_id}» не можна вибрати для «{document_type}»")]
    ChoiceNotOffered { document_type: DocumentType, document_id: String },
    #[error("виберіть, який документ надіслати: {}", titles(.0))]
    ChoiceIncomplete(Vec<DocumentType>),
    #[error("спершу пройдіть фотоверифікацію")]
    PhotoNotVerified,
    #[error("фотоверифікацію не пройдено: обличчя не збігається з фото в документі")]
    PhotoRejected,
    #[error("фотоверифікація тимчасово недоступна: {0}")]
    PhotoUnavailable(String),
    #[error("фотоверифікацію вже пройдено")]
    PhotoAlreadyVerified,
    #[error(transparent)]
    Signature(DiiaSignatureError),
    #[error("спершу підтвердьте запит кодом Дія.Підпису")]
    NotConsented,
    #[error("згоду вже підписано")]
    AlreadyConsented,
    #[error("документи за цим запитом уже надіслано; повторно надіслати не можна")]
    AlreadySent,
    #[error("запит завершено: {0}")]
    Finished(&'static str),
    #[error("документи ще не надіслано")]
    NotSent,
    #[error("результат доставки вже записано")]
    DeliveryAlreadyRecorded,
    #[error("час запиту ще не минув")]
    NotExpiredYet,
}

impl RuleViolation for ShareRequestError {
    fn code(&self) -> &'static str {
        match self {
            Self::AlreadyOpened => "share-already-opened",
            Self::NotFound => "share-not-found",
            Self::MissingDocuments(_) => "documents-missing",
            Self::Registry(RegistryError::UnknownCitizen) => "citizen-unknown",
            Self::Registry(RegistryError::Unavailable(_)) => "documents-unavailable",
            Self::Expired => "share-expired",
            Self::ChoiceNotOffered { .. } => "document-choice-not-offered",
            Self::ChoiceIncomplete(_) => "document-choice-incomplete",
            Self::PhotoNotVerified => "photo-verification-required",
            Self::PhotoRejected => "photo-verification-failed",
            Self::PhotoUnavailable(_) => "photo-verification-unavailable",
            Self::PhotoAlreadyVerified => "photo-already-verified",
            Self::Signature(DiiaSignatureError::WrongCode { .. }) => "signature-code-wrong",
            Self::Signature(DiiaSignatureError::Locked) => "signature-locked",
            Self::Signature(DiiaSignatureError::NoSignatureKey) => "signature-required",
            Self::Signature(DiiaSignatureError::Unavailable(_)) => "signature-unavailable",
            Self::NotConsented => "consent-required",
            Self::AlreadyConsented => "consent-already-signed",
            Self::AlreadySent => "share-already-sent",
            Self::Finished(_) => "share-finished",
            Self::NotSent => "share-not-sent",
            Self::DeliveryAlreadyRecorded => "delivery-already-recorded",
            Self::NotExpiredYet => "share-not-expired",
        }
    }
    fn diia_code(&self) -> Option<u32> {
        match self {
            Self::MissingDocuments(_) => Some(12141002),
            Self::Expired => Some(12201002),
            Self::Registry(RegistryError::Unavailable(_)) => Some(12141001),
            Self::Signature(DiiaSignatureError::NoSignatureKey) => Some(12141005),
            _ => None,
        }
    }
}

/// Where a request stands. The citizen's history groups these as processing / refused / done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareStatus {
    #[default]
    New,
    Opened,
    PhotoVerified,
    Consented,
    Sent,
    Delivered,
    DeliveryFailed,
    Declined,
    Expired,
}

impl ShareStatus {
    /// The citizen-facing outcome, as Diia's sharing history shows it.
    pub fn history_label_uk(self) -> &'static str {
        match self {
            Self::Delivered => "Виконано",
            Self::DeliveryFailed | Self::Declined | Self::Expired => "Відмовлено",
            _ => "В обробці",
        }
    }
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareRequest {
    share_request_id: Option<Uuid>,
    citizen: Option<Rnokpp>,
    snapshot: Option<ShareSnapshot>,
    candidates: Vec<DocumentCandidate>,
    chosen: BTreeMap<DocumentType, String>,
    expires_at: Option<DateTime<Utc>>,
    status: ShareStatus,
}

impl ShareRequest {
    pub fn status(&self) -> ShareStatus {
        self.status
    }
    pub fn citizen(&self) -> Option<&Rnokpp> {
        self.citizen.as_ref()
    }
    pub fn snapshot(&self) -> Option<&ShareSnapshot> {
        self.snapshot.as_ref()
    }
    pub fn candidates(&self) -> &[DocumentCandidate] {
        &self.candidates
    }
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.expires_at
    }

    /// Requested types the citizen has not chosen a document for yet.
    pub fn unchosen(&self) -> Vec<DocumentType> {
        let requested = self.snapshot.as_ref().map(|s| s.documents.clone()).unwrap_or_default();
        requested.into_iter().filter(|t| !self.chosen.contains_key(t)).collect()
    }

    fn chosen_list(&self) -> Vec<DocumentChoice> {
        self.chosen.iter().map(|(t, id)| DocumentChoice { document_type: *t, document_id: id.clone() }).collect()
    }

    /// A delivery outcome is recorded once, after the send.
    fn ensure_awaiting_delivery(&self) -> Result<(), ShareRequestError> {
        match self.status {
            ShareStatus::Sent => Ok(()),
            ShareStatus::Delivered | ShareStatus::DeliveryFailed => Err(ShareRequestError::DeliveryAlreadyRecorded),
            ShareStatus::New => Err(ShareRequestError::NotFound),
            _ => Err(ShareRequestError::NotSent),
        }
    }

    /// Refuses commands on a finished request, or a citizen's command after expiry.
    fn ensure_open_for_citizen(&self, at: DateTime<Utc>) -> Result<(), ShareRequestError> {
        match self.status {
            ShareStatus::New => return Err(ShareRequestError::NotFound),
            ShareStatus::Sent | ShareStatus::Delivered | ShareStatus::DeliveryFailed => return Err(ShareRequestError::AlreadySent),
            ShareStatus::Declined => return Err(ShareRequestError::Finished("ви відмовилися надсилати документи")),
            ShareStatus::Expired => return Err(ShareRequestError::Expired),
            _ => {}
        }
        if self.expires_at.is_some_and(|e| at >= e) {
            return Err(ShareRequestError::Expired);
        }
        Ok(())
    }
}

impl Aggregate for ShareRequest {
    const TYPE: &'static str = "ShareRequest";
    type Command = ShareRequestCommand;
    type Event = ShareRequestEvent;
    type Error = ShareRequestError;
    type Services = ShareRequestServices;

    async fn handle(
        &mut self,
        command: ShareRequestCommand,
        services: &ShareRequestServices,
        sink: &EventSink<Self>,
    ) -> Result<(), ShareRequestError> {
        use ShareRequestCommand as C;
        use ShareRequestError as Error;
        use ShareRequestEvent as E;
        match command {
            C::Open { .. } if self.status != ShareStatus::New => Err(Error::AlreadyOpened),
            C::Open { share_request_id, citizen, snapshot, opened_at, expires_at } => {
                let held = services.registry.documents_of(&citizen).await.map_err(Error::Registry)?;
                // All or nothing, checked before photo verification: name every missing document.
                let missing: Vec<DocumentType> =
                    snapshot.documents.iter().copied().filter(|t| !held.iter().any(|d| d.document_type == *t)).collect();
                if !missing.is_empty() {
                    return Err(Error::MissingDocuments(missing));
                }
                let candidates = snapshot
                    .documents
                    .iter()
                    .flat_map(|t| held.iter().filter(move |d| d.document_type == *t))
                    .map(DocumentCandidate::from)
                    .collect();
                sink.write(E::Opened { share_request_id, citizen, snapshot, candidates, opened_at, expires_at }, self).await;
                Ok(())
            }
            C::RecordDelivery { accepted_at, message_id } => {
                self.ensure_awaiting_delivery()?;
                sink.write(E::Delivered { accepted_at, message_id }, self).await;
                Ok(())
            }
            C::RecordDeliveryFailure { at, reason } => {
                self.ensure_awaiting_delivery()?;
                sink.write(E::DeliveryFailed { at, reason }, self).await;
                Ok(())
            }
            C::Expire { at } => {
                if !matches!(self.status, ShareStatus::Opened | ShareStatus::PhotoVerified | ShareStatus::Consented) {
                    return self.ensure_open_for_citizen(at);
                }
                if self.expires_at.is_some_and(|e| at < e) {
                    return Err(Error::NotExpiredYet);
                }
                sink.write(E::Expired { at }, self).await;
                Ok(())
            }
            C::ChooseDocuments { choices, at } => {
                self.ensure_open_for_citizen(at)?;
                if self.status == ShareStatus::Consented {
                    return Err(Error::AlreadyConsented);
                }
                for c in &choices {
                    if !self.candidates.iter().any(|d| d.document_type == c.document_type && d.document_id == c.document_id) {
                        return Err(Error::ChoiceNotOffered { document_type: c.document_type, document_id: c.document_id.clone() });
                    }
                }
                sink.write(E::DocumentsChosen { choices }, self).await;
                Ok(())
            }
            C::VerifyPhoto { photo, at } => {
                self.ensure_open_for_citizen(at)?;
                if self.status != ShareStatus::Opened {
                    return Err(Error::PhotoAlreadyVerified);
                }
                let citizen = self.citizen.clone().ok_or(Error::NotFound)?;
                match services.photo.verify(&citizen, &photo).await {
                    Ok(PhotoVerdict::Match) => {
                        sink.write(E::PhotoVerified { at }, self).await;
                        Ok(())
                    }
                    Ok(PhotoVerdict::NoMatch) => Err(Error::PhotoRejected),
                    Err(reason) => Err(Error::PhotoUnavailable(reason)),
                }
            }
            C::Confirm { code, at } => {
                self.ensure_open_for_citizen(at)?;
                match self.status {
                    ShareStatus::Opened => return Err(Error::PhotoNotVerified),
                    ShareStatus::Consented => return Err(Error::AlreadyConsented),
                    _ => {}
                }
                let unchosen = self.unchosen();
                if !unchosen.is_empty() {
                    return Err(Error::ChoiceIncomplete(unchosen));
                }
                let (Some(id), Some(citizen), Some(snapshot)) = (self.share_request_id, self.citizen.clone(), &self.snapshot) else {
                    return Err(Error::NotFound);
                };
                let statement = ConsentStatement {
                    share_request_id: id,
                    citizen: citizen.clone(),
                    organisation_name: snapshot.organisation_name.clone(),
                    branch_address: snapshot.branch_address.clone(),
                    recipient_email: snapshot.recipient_email.clone(),
                    purposes: snapshot.service_names.clone(),
                    retention_days: snapshot.retention_days,
                    documents: self.chosen_list(),
                    consented_at: at,
                };
                let statement = serde_json::to_string(&statement).expect("a statement of plain strings always serialises");
                let signature = services.signature.sign(&citizen, &code, statement.as_bytes()).await.map_err(Error::Signature)?;
                let signature_base64 = BASE64_STANDARD.encode(signature);
                sink.write(E::ConsentSigned { statement, signature_base64, signed_at: at }, self).await;
                Ok(())
            }
            C::Send { at } => {
                self.ensure_open_for_citizen(at)?;
                if self.status != ShareStatus::Consented {
                    return Err(Error::NotConsented);
                }
                let (Some(citizen), Some(snapshot)) = (&self.citizen, &self.snapshot) else {
                    return Err(Error::NotFound);
                };
                let held = services.registry.documents_of(citizen).await.map_err(Error::Registry)?;
                let mut copies = Vec::new();
                let mut missing = Vec::new();
                for choice in self.chosen_list() {
                    match held.iter().find(|d| d.document_type == choice.document_type && d.document_id == choice.document_id) {
                        Some(d) => copies.push(d.clone()),
                        None => missing.push(choice.document_type),
                    }
                }
                // A document withdrawn between consent and send still means nothing is sent.
                if !missing.is_empty() {
                    return Err(Error::MissingDocuments(missing));
                }
                let recipient_email = snapshot.recipient_email.clone();
                sink.write(E::Sent { copies, recipient_email, sent_at: at }, self).await;
                Ok(())
            }
            C::Decline { at } => {
                self.ensure_open_for_citizen(at)?;
                sink.write(E::Declined { at }, self).await;
                Ok(())
            }
        }
    }

    fn apply(&mut self, event: ShareRequestEvent) {
        use ShareRequestEvent as E;
        match event {
            E::Opened { share_request_id, citizen, snapshot, candidates, expires_at, .. } => {
                // A type the citizen holds exactly one document of needs no choice.
                for t in &snapshot.documents {
                    let mut of_type = candidates.iter().filter(|c| c.document_type == *t);
                    if let (Some(only), None) = (of_type.next(), of_type.next()) {
                        self.chosen.insert(*t, only.document_id.clone());
                    }
                }
                self.share_request_id = Some(share_request_id);
                self.citizen = Some(citizen);
                self.snapshot = Some(snapshot);
                self.candidates = candidates;
                self.expires_at = Some(expires_at);
                self.status = ShareStatus::Opened;
            }
            E::DocumentsChosen { choices } => {
                for c in choices {
                    self.chosen.insert(c.document_type, c.document_id);
                }
            }
            E::PhotoVerified { .. } => self.status = ShareStatus::PhotoVerified,
            E::ConsentSigned { .. } => self.status = ShareStatus::Consented,
            E::Sent { .. } => self.status = ShareStatus::Sent,
            E::Delivered { .. } => self.status = ShareStatus::Delivered,
            E::DeliveryFailed { .. } => self.status = ShareStatus::DeliveryFailed,
            E::Declined { .. } => self.status = ShareStatus::Declined,
            E::Expired { .. } => self.status = ShareStatus::Expired,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::DocumentField;
    use cqrs_es::test::TestFramework;

    struct Registry(Vec<HeldDocument>);
    #[async_trait]
    impl DocumentRegistry for Registry {
        async fn documents_of(&self, _: &Rnokpp) -> Result<Vec<HeldDocument>, RegistryError> {
            Ok(self.0.clone())
        }
    }
    struct Photo;
    #[async_trait]
    impl PhotoVerification for Photo {
        async fn verify(&self, _: &Rnokpp, photo: &[u8]) -> Result<PhotoVerdict, String> {
            Ok(if photo == b"someone else" { PhotoVerdict::NoMatch } else { PhotoVerdict::Match })
        }
    }
    struct Signature;
    #[async_trait]
    impl DiiaSignature for Signature {
        async fn sign(&self, _: &Rnokpp, code: &str, statement: &[u8]) -> Result<Vec<u8>, DiiaSignatureError> {
            if code == "123456" {
                Ok(statement.len().to_be_bytes().to_vec())
            } else {
                Err(DiiaSignatureError::WrongCode { attempts_left: 2 })
            }
        }
    }

    fn doc(t: DocumentType, id: &str, label: &str) -> HeldDocument {
        HeldDocument { document_type: t, document_id: id.into(), label: label.into(), fields: vec![DocumentField::new("Номер", id)] }
    }
    /// A parent with a passport, a taxpayer card and two children's birth certificates.
    fn parent_documents() -> Vec<HeldDocument> {
        vec![
            doc(DocumentType::InternalPassport, "004512377", "ID-картка"),
            doc(DocumentType::TaxpayerCard, "3214567895", "РНОКПП"),
            doc(DocumentType::BirthCertificate, "I-БК 123456", "Ярослав, 2015"),
            doc(DocumentType::BirthCertificate, "I-БК 654321", "Їржина, 2019"),
        ]
    }
    fn framework(held: Vec<HeldDocument>) -> TestFramework<ShareRequest> {
        TestFramework::with(ShareRequestServices {
            registry: Arc::new(Registry(held)),
            photo: Arc::new(Photo),
            signature: Arc::new(Signature),
        })
    }
    fn t(minutes: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z").unwrap().with_timezone(&Utc) + chrono::Duration::minutes(minutes)
    }
    fn citizen() -> Rnokpp {
        Rnokpp::with_check_digit("321456789").unwrap()
    }
    fn id() -> Uuid {
        Uuid::from_u128(0x5e)
    }
    fn snapshot(documents: Vec<DocumentType>) -> ShareSnapshot {
        ShareSnapshot {
            partner_id: Uuid::from_u128(0xa1),
            organisation_name: "ТОВ «Готель „Палаццо“»".into(),
            branch_id: Uuid::from_u128(0xb1),
            branch_name: "Готель «Палаццо»".into(),
            branch_address: "Тернопільська область, м. Тернопіль, вул. Руська, 12".into(),
            recipient_email: EmailAddress::parse("desk@palazzo.ua").unwrap(),
            service_id: Uuid::from_u128(0xc1),
            service_names: vec!["для поселення у готель".into()],
            documents,
            retention_days: 30,
            qr_version: 1,
            qr_short_code: "D1SHORT".into(),
        }
    }
    fn open(documents: Vec<DocumentType>) -> ShareRequestCommand {
        ShareRequestCommand::Open {
            share_request_id: id(),
            citizen: citizen(),
            snapshot: snapshot(documents),
            opened_at: t(0),
            expires_at: t(15),
        }
    }
    fn opened(documents: Vec<DocumentType>) -> ShareRequestEvent {
        let held = parent_documents();
        let candidates =
            documents.iter().flat_map(|ty| held.iter().filter(move |d| d.document_type == *ty)).map(DocumentCandidate::from).collect();
        ShareRequestEvent::Opened {
            share_request_id: id(),
            citizen: citizen(),
            snapshot: snapshot(documents),
            candidates,
            opened_at: t(0),
            expires_at: t(15),
        }
    }
    fn passport_and_tax() -> Vec<DocumentType> {
        vec![DocumentType::InternalPassport, DocumentType::TaxpayerCard]
    }
    fn consented() -> Vec<ShareRequestEvent> {
        let mut events = vec![opened(passport_and_tax()), ShareRequestEvent::PhotoVerified { at: t(1) }];
        let mut agg = ShareRequest::default();
        for e in events.clone() {
            agg.apply(e);
        }
        let statement = ConsentStatement {
            share_request_id: id(),
            citizen: citizen(),
            organisation_name: "ТОВ «Готель „Палаццо“»".into(),
            branch_address: "Тернопільська область, м. Тернопіль, вул. Руська, 12".into(),
            recipient_email: EmailAddress::parse("desk@palazzo.ua").unwrap(),
            purposes: vec!["для поселення у готель".into()],
            retention_days: 30,
            documents: agg.chosen_list(),
            consented_at: t(2),
        };
        let statement = serde_json::to_string(&statement).unwrap();
        let signature_base64 = BASE64_STANDARD.encode(statement.len().to_be_bytes());
        events.push(ShareRequestEvent::ConsentSigned { statement, signature_base64, signed_at: t(2) });
        events
    }

    #[tokio::test]
    async fn a_scan_opens_a_request_when_the_citizen_has_every_document() {
        framework(parent_documents())
            .given_no_previous_events()
            .when_async(open(passport_and_tax()))
            .await
            .then_expect_events(vec![opened(passport_and_tax())]);
    }

    #[tokio::test]
    async fn all_or_nothing_the_error_names_every_missing_document() {
        let wanted = vec![DocumentType::InternalPassport, DocumentType::DriverLicense, DocumentType::VehicleLicense];
        let err = ShareRequestError::MissingDocuments(vec![DocumentType::DriverLicense, DocumentType::VehicleLicense]);
        assert!(err.to_string().contains("Посвідчення водія") && err.to_string().contains("транспортного засобу"));
        assert_eq!(err.diia_code(), Some(12141002));
        framework(parent_documents()).given_no_previous_events().when_async(open(wanted)).await.then_expect_error_message(&err.to_string());
    }

    #[tokio::test]
    async fn a_parent_with_two_children_must_choose_which_birth_certificate() {
        let wanted = vec![DocumentType::InternalPassport, DocumentType::BirthCertificate];
        framework(parent_documents())
            .given(vec![opened(wanted.clone()), ShareRequestEvent::PhotoVerified { at: t(1) }])
            .when_async(ShareRequestCommand::Confirm { code: "123456".into(), at: t(2) })
            .await
            .then_expect_error_message(&ShareRequestError::ChoiceIncomplete(vec![DocumentType::BirthCertificate]).to_string());
        let choice = DocumentChoice { document_type: DocumentType::BirthCertificate, document_id: "I-БК 654321".into() };
        framework(parent_documents())
            .given(vec![opened(wanted.clone())])
            .when_async(ShareRequestCommand::ChooseDocuments { choices: vec![choice.clone()], at: t(1) })
            .await
            .then_expect_events(vec![ShareRequestEvent::DocumentsChosen { choices: vec![choice] }]);
        let foreign = DocumentChoice { document_type: DocumentType::BirthCertificate, document_id: "someone else's".into() };
        framework(parent_documents())
            .given(vec![opened(wanted)])
            .when_async(ShareRequestCommand::ChooseDocuments { choices: vec![foreign], at: t(1) })
            .await
            .then_expect_error_message(
                &ShareRequestError::ChoiceNotOffered {
                    document_type: DocumentType::BirthCertificate,
                    document_id: "someone else's".into(),
                }
                .to_string(),
            );
    }

    #[tokio::test]
    async fn the_chosen_certificate_is_the_one_sent() {
        let wanted = vec![DocumentType::BirthCertificate];
        let choice = DocumentChoice { document_type: DocumentType::BirthCertificate, document_id: "I-БК 654321".into() };
        let mut given = vec![
            opened(wanted),
            ShareRequestEvent::DocumentsChosen { choices: vec![choice] },
            ShareRequestEvent::PhotoVerified { at: t(1) },
        ];
        given.push(ShareRequestEvent::ConsentSigned { statement: "{}".into(), signature_base64: "AA==".into(), signed_at: t(2) });
        let events =
            framework(parent_documents()).given(given).when_async(ShareRequestCommand::Send { at: t(3) }).await.inspect_result().unwrap();
        let ShareRequestEvent::Sent { copies, .. } = &events[0] else { panic!("{events:?}") };
        assert_eq!(copies.iter().map(|c| c.label.as_str()).collect::<Vec<_>>(), ["Їржина, 2019"]);
    }

    #[tokio::test]
    async fn photo_verification_comes_before_the_signature_code() {
        framework(parent_documents())
            .given(vec![opened(passport_and_tax())])
            .when_async(ShareRequestCommand::Confirm { code: "123456".into(), at: t(1) })
            .await
            .then_expect_error_message(&ShareRequestError::PhotoNotVerified.to_string());
        framework(parent_documents())
            .given(vec![opened(passport_and_tax())])
            .when_async(ShareRequestCommand::VerifyPhoto { photo: b"someone else".to_vec(), at: t(1) })
            .await
            .then_expect_error_message(&ShareRequestError::PhotoRejected.to_string());
    }

    #[tokio::test]
    async fn consent_is_a_signed_statement_of_what_the_citizen_saw() {
        framework(parent_documents())
            .given(consented()[..2].to_vec())
            .when_async(ShareRequestCommand::Confirm { code: "123456".into(), at: t(2) })
            .await
            .then_expect_events(vec![consented()[2].clone()]);
        let ShareRequestEvent::ConsentSigned { statement, .. } = &consented()[2] else { unreachable!() };
        let parsed: ConsentStatement = serde_json::from_str(statement).unwrap();
        assert_eq!(parsed.purposes, ["для поселення у готель"]);
        assert_eq!(parsed.documents.len(), 2);
        framework(parent_documents())
            .given(consented()[..2].to_vec())
            .when_async(ShareRequestCommand::Confirm { code: "000000".into(), at: t(2) })
            .await
            .then_expect_error_message(&DiiaSignatureError::WrongCode { attempts_left: 2 }.to_string());
    }

    #[tokio::test]
    async fn sending_needs_consent_and_happens_once() {
        framework(parent_documents())
            .given(consented()[..2].to_vec())
            .when_async(ShareRequestCommand::Send { at: t(3) })
            .await
            .then_expect_error_message(&ShareRequestError::NotConsented.to_string());
        let events = framework(parent_documents())
            .given(consented())
            .when_async(ShareRequestCommand::Send { at: t(3) })
            .await
            .inspect_result()
            .unwrap();
        let ShareRequestEvent::Sent { copies, recipient_email, .. } = &events[0] else { panic!("{events:?}") };
        assert_eq!(copies.len(), 2);
        assert_eq!(recipient_email.as_str(), "desk@palazzo.ua");
        let mut sent = consented();
        sent.extend(events);
        framework(parent_documents())
            .given(sent)
            .when_async(ShareRequestCommand::Send { at: t(4) })
            .await
            .then_expect_error_message(&ShareRequestError::AlreadySent.to_string());
    }

    #[tokio::test]
    async fn an_unfinished_request_expires() {
        framework(parent_documents())
            .given(consented())
            .when_async(ShareRequestCommand::Send { at: t(15) })
            .await
            .then_expect_error_message(&ShareRequestError::Expired.to_string());
        assert_eq!(ShareRequestError::Expired.diia_code(), Some(12201002));
        framework(parent_documents())
            .given(vec![opened(passport_and_tax())])
            .when_async(ShareRequestCommand::Expire { at: t(14) })
            .await
            .then_expect_error_message(&ShareRequestError::NotExpiredYet.to_string());
        framework(parent_documents())
            .given(vec![opened(passport_and_tax())])
            .when_async(ShareRequestCommand::Expire { at: t(16) })
            .await
            .then_expect_events(vec![ShareRequestEvent::Expired { at: t(16) }]);
    }

    #[tokio::test]
    async fn delivery_is_recorded_once_after_the_send() {
        let mut sent = consented();
        sent.push(ShareRequestEvent::Sent {
            copies: vec![],
            recipient_email: EmailAddress::parse("desk@palazzo.ua").unwrap(),
            sent_at: t(3),
        });
        framework(parent_documents())
            .given(consented())
            .when_async(ShareRequestCommand::RecordDelivery { accepted_at: t(4), message_id: "m".into() })
            .await
            .then_expect_error_message(&ShareRequestError::NotSent.to_string());
        framework(parent_documents())
            .given(sent.clone())
            .when_async(ShareRequestCommand::RecordDelivery { accepted_at: t(20), message_id: "m".into() })
            .await
            .then_expect_events(vec![ShareRequestEvent::Delivered { accepted_at: t(20), message_id: "m".into() }]);
        sent.push(ShareRequestEvent::Delivered { accepted_at: t(20), message_id: "m".into() });
        framework(parent_documents())
            .given(sent)
            .when_async(ShareRequestCommand::RecordDeliveryFailure { at: t(21), reason: "x".into() })
            .await
            .then_expect_error_message(&ShareRequestError::DeliveryAlreadyRecorded.to_string());
    }

    #[test]
    fn a_qr_works_only_for_an_active_partner_with_a_confirmed_mailbox() {
        use crate::branch::tests as b;
        use crate::partner::tests as p;
        use crate::service::{tests as s, ServiceEvent};
        let build = |partner_events: Vec<crate::partner::PartnerEvent>, branch_events: Vec<crate::branch::BranchEvent>| {
            let mut partner = Partner::default();
            partner_events.into_iter().for_each(|e| partner.apply(e));
            let mut branch = Branch::default();
            branch_events.into_iter().for_each(|e| branch.apply(e));
            let mut service = Service::default();
            service.apply(s::created(vec![DocumentType::InternalPassport]));
            service.apply(ServiceEvent::QrIssued { qr_version: 1, token_digest: "d1".into(), short_code: "D1SHORT".into() });
            (partner, branch, service)
        };
        let (partner, branch, service) = build(p::active_partner(), b::confirmed());
        let snap = ShareSnapshot::for_scan(&partner, &branch, &service, "d1").unwrap();
        assert_eq!(snap.recipient_email.as_str(), "desk@palazzo.ua");
        assert_eq!(snap.branch_address, "Тернопільська область, м. Тернопіль, вул. Руська, 12");
        assert_eq!(snap.qr_short_code, "D1SHORT", "the app shows the poster's code");
        assert_eq!(ShareSnapshot::for_scan(&partner, &branch, &service, "zz"), Err(ScanError::ForgedQr));
        assert_eq!(ShareSnapshot::for_scan(&partner, &branch, &Service::default(), "d1"), Err(ScanError::UnknownQr));
        let (partner, branch, service) = build(p::active_partner(), b::created());
        assert_eq!(ShareSnapshot::for_scan(&partner, &branch, &service, "d1"), Err(ScanError::BranchEmailNotConfirmed));
        let mut suspended = p::active_partner();
        suspended.push(crate::partner::PartnerEvent::Suspended { reason: "перевірка".into() });
        let (partner, branch, service) = build(suspended, b::confirmed());
        assert_eq!(ShareSnapshot::for_scan(&partner, &branch, &service, "d1"), Err(ScanError::PartnerNotActive));
    }
}
