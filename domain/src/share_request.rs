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
use crate::{RuleKind, RuleViolation, EVENT_VERSION};

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

/// Why a scanned QR does not start a request (or, rechecked, a consented one is not sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
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
    #[error("цей QR-код більше не діє: модерація Дія.QR видалила назву послуги чи відділення")]
    RemovedByModeration,
    #[error("організація ще не підтвердила електронну пошту відділення, тож не може отримати копії")]
    BranchEmailNotConfirmed,
    #[error("це посилання веде не на Дія.QR, а на інший сайт: не передавайте за ним документи")]
    ForeignLink,
    #[error(
        "організація змінила адресу електронної пошти після сканування: відскануйте QR-код ще раз, щоб побачити, куди підуть документи"
    )]
    RecipientChanged,
}

impl RuleViolation for ScanError {
    fn kind(&self) -> RuleKind {
        match self {
            Self::UnknownQr => RuleKind::NotFound,
            Self::RotatedQr | Self::RevokedQr | Self::ServiceDeactivated | Self::RemovedByModeration => RuleKind::Gone,
            Self::RecipientChanged => RuleKind::Conflict,
            Self::ForgedQr | Self::PartnerNotActive | Self::BranchEmailNotConfirmed | Self::ForeignLink => RuleKind::Invalid,
        }
    }
    fn code(&self) -> &'static str {
        match self {
            Self::UnknownQr => "qr-unknown",
            Self::ForgedQr => "qr-forged",
            Self::RotatedQr => "qr-rotated",
            Self::RevokedQr => "qr-revoked",
            Self::ServiceDeactivated => "qr-service-deactivated",
            Self::RemovedByModeration => "qr-removed-by-moderation",
            Self::PartnerNotActive => "qr-partner-not-active",
            Self::BranchEmailNotConfirmed => "qr-branch-email-not-confirmed",
            Self::ForeignLink => "qr-link-foreign",
            Self::RecipientChanged => "share-recipient-changed",
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
            QrTokenProblem::RemovedByModeration => ScanError::RemovedByModeration,
        })?;
        if branch.is_removed() {
            return Err(ScanError::RemovedByModeration);
        }
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

    /// Whether the request the citizen consented to may still go out, as the partner, branch
    /// and service stand at the moment of sending (`token_digest` is the digest of the scanned QR
    /// version's token): the partner active, the service neither deactivated nor removed, the
    /// QR not revoked, the branch not removed and its confirmed mailbox still the snapshot's. A
    /// routine rotation of the QR is no reason to refuse a citizen mid-way; a revocation is.
    pub fn recheck(&self, partner: &Partner, branch: &Branch, service: &Service, token_digest: &str) -> Result<(), ScanError> {
        match service.check_qr_token(token_digest) {
            Ok(_) => {}
            Err(QrTokenProblem::Rotated) if service.has_active_qr() => {}
            Err(QrTokenProblem::Rotated | QrTokenProblem::Revoked) => return Err(ScanError::RevokedQr),
            Err(QrTokenProblem::Forged) => return Err(ScanError::ForgedQr),
            Err(QrTokenProblem::ServiceDeactivated) => return Err(ScanError::ServiceDeactivated),
            Err(QrTokenProblem::RemovedByModeration) => return Err(ScanError::RemovedByModeration),
        }
        if branch.is_removed() {
            return Err(ScanError::RemovedByModeration);
        }
        if partner.status() != PartnerStatus::Active {
            return Err(ScanError::PartnerNotActive);
        }
        match branch.confirmed_email() {
            None => Err(ScanError::BranchEmailNotConfirmed),
            Some(email) if *email != self.recipient_email => Err(ScanError::RecipientChanged),
            Some(_) => Ok(()),
        }
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

/// Why a liveness assertion does not verify the citizen for this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhotoRefusal {
    #[error("немає підтвердження фотоверифікації: пройдіть її в застосунку")]
    Missing,
    #[error("підтвердження фотоверифікації підроблено або пошкоджено")]
    Forged,
    #[error("підтвердження фотоверифікації застаріло: пройдіть її ще раз")]
    Stale,
    #[error("підтвердження фотоверифікації видано для іншого запиту")]
    OtherRequest,
    #[error("підтвердження фотоверифікації видано іншій людині")]
    OtherCitizen,
    #[error("фотоверифікацію не пройдено: обличчя не збігається з фото в документі")]
    NoMatch,
}

impl PhotoRefusal {
    pub fn code(self) -> &'static str {
        match self {
            Self::Missing => "photo-assertion-missing",
            Self::Forged => "photo-assertion-invalid",
            Self::Stale => "photo-assertion-stale",
            Self::OtherRequest => "photo-assertion-other-request",
            Self::OtherCitizen => "photo-assertion-other-citizen",
            Self::NoMatch => "photo-verification-failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhotoError {
    Refused(PhotoRefusal),
    /// The provider's key or the record of attempts cannot be reached.
    Unavailable(String),
}

/// Photo verification: the liveness provider checks the citizen's face against the registry
/// photo and issues a short-lived signed assertion for one share request; the engine verifies it.
#[async_trait]
pub trait PhotoVerification: Send + Sync {
    /// Checks `assertion` for `citizen` and the share request `request` at `at`; returns the
    /// assertion's id, kept as evidence. Every check is recorded, whatever its outcome.
    async fn verify(&self, citizen: &Rnokpp, request: Uuid, assertion: &str, at: DateTime<Utc>) -> Result<String, PhotoError>;
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
    /// Signs `statement` for `citizen`, for the share request `request`; returns a detached CMS
    /// signature (DER). Every attempt counts towards the lockout, whatever its outcome.
    async fn sign(&self, citizen: &Rnokpp, code: &str, request: Uuid, statement: &[u8]) -> Result<Vec<u8>, DiiaSignatureError>;
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

/// The statement a citizen signs: exactly what they agreed to, as JSON text — who, to which
/// organisation, branch and service, for which purposes, which documents, to which mailbox, for how
/// long, when, and the request's id — with the same in Ukrainian words. The text itself is kept in
/// the event, so the signature can be checked against the same bytes years later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentStatement {
    pub wording_uk: String,
    pub share_request_id: Uuid,
    pub citizen: Rnokpp,
    pub partner_id: Uuid,
    pub organisation_name: String,
    pub branch_id: Uuid,
    pub branch_name: String,
    pub branch_address: String,
    pub service_id: Uuid,
    pub purposes: Vec<String>,
    pub recipient_email: EmailAddress,
    pub retention_days: u32,
    pub documents: Vec<DocumentChoice>,
    pub consented_at: DateTime<Utc>,
}

impl ConsentStatement {
    pub fn new(
        share_request_id: Uuid,
        citizen: Rnokpp,
        snapshot: &ShareSnapshot,
        documents: Vec<DocumentChoice>,
        consented_at: DateTime<Utc>,
    ) -> Self {
        let titles: Vec<String> = documents.iter().map(|d| format!("{} № {}", d.document_type.title_uk(), d.document_id)).collect();
        let wording_uk = format!(
            "Я, власник РНОКПП {citizen}, надаю згоду на передачу копій документів ({}) організації «{}», {} ({}), з метою: {}. \
             Копії надсилаються на адресу {} і зберігаються не довше {} дн. Запит {share_request_id}, {}.",
            titles.join("; "),
            snapshot.organisation_name,
            snapshot.branch_name,
            snapshot.branch_address,
            snapshot.service_names.join("; "),
            snapshot.recipient_email,
            snapshot.retention_days,
            consented_at.format("%Y-%m-%dT%H:%M:%SZ"),
        );
        Self {
            wording_uk,
            share_request_id,
            citizen,
            partner_id: snapshot.partner_id,
            organisation_name: snapshot.organisation_name.clone(),
            branch_id: snapshot.branch_id,
            branch_name: snapshot.branch_name.clone(),
            branch_address: snapshot.branch_address.clone(),
            service_id: snapshot.service_id,
            purposes: snapshot.service_names.clone(),
            recipient_email: snapshot.recipient_email.clone(),
            retention_days: snapshot.retention_days,
            documents,
            consented_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShareRequestCommand {
    Open {
        share_request_id: Uuid,
        citizen: Rnokpp,
        snapshot: ShareSnapshot,
        opened_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    },
    ChooseDocuments {
        choices: Vec<DocumentChoice>,
        at: DateTime<Utc>,
    },
    VerifyPhoto {
        /// The liveness provider's signed assertion, as the app received it.
        assertion: String,
        at: DateTime<Utc>,
    },
    Confirm {
        code: String,
        at: DateTime<Utc>,
    },
    Send {
        at: DateTime<Utc>,
        /// How the recipient stands now ([`ShareSnapshot::recheck`], read by the application
        /// from the partner, branch and service just before sending).
        recipient: Result<(), ScanError>,
        /// Random, chosen by the caller: the seed of the copies' ids.
        copy_seed: Uuid,
    },
    Decline {
        at: DateTime<Utc>,
    },
    Expire {
        at: DateTime<Utc>,
    },
    /// Forgets the citizen's personal data: when the service's retention has run out after the
    /// request ended, or at the citizen's request once it has ended.
    ErasePersonalData {
        at: DateTime<Utc>,
        reason: ErasureReason,
    },
    RecordDelivery {
        accepted_at: DateTime<Utc>,
        message_id: String,
    },
    RecordDeliveryFailure {
        at: DateTime<Utc>,
        reason: String,
    },
}

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
        /// The liveness assertion that verified the citizen (absent in events from before assertions).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        assertion_id: Option<String>,
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
        /// Random: the copies' ids derive from it and each document, so an id tells nothing of
        /// the document's number. Sealed with the personal fields. Absent in events recorded
        /// before it existed: their copies' ids derive from the request id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        copy_seed: Option<Uuid>,
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
    /// The request's personal data was erased (its data key destroyed): the events stay, their
    /// personal fields can no longer be read.
    PersonalDataErased {
        at: DateTime<Utc>,
        reason: ErasureReason,
    },
}

/// Why a request's personal data was erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErasureReason {
    /// The service's retention period ran out.
    RetentionEnded,
    /// The citizen asked.
    CitizenRequest,
}

impl ErasureReason {
    pub fn label_uk(self) -> &'static str {
        match self {
            Self::RetentionEnded => "минув строк зберігання, визначений послугою",
            Self::CitizenRequest => "на вимогу громадянина",
        }
    }
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
            Self::PersonalDataErased { .. } => "ShareRequestPersonalDataErased",
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
    #[error(transparent)]
    PhotoRefused(PhotoRefusal),
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
    #[error("документи не надіслано: {0}")]
    RecipientWithdrawn(ScanError),
    #[error("персональні дані цього запиту вже видалено")]
    AlreadyErased,
    #[error("запит ще не завершено: дані видаляють після завершення")]
    NotEnded,
    #[error("строк зберігання ще не минув: дані буде видалено {0}")]
    RetentionNotOver(DateTime<Utc>),
}

impl RuleViolation for ShareRequestError {
    fn kind(&self) -> RuleKind {
        match self {
            Self::NotFound | Self::Registry(RegistryError::UnknownCitizen) => RuleKind::NotFound,
            Self::Expired => RuleKind::Gone,
            Self::AlreadyOpened
            | Self::PhotoAlreadyVerified
            | Self::AlreadyConsented
            | Self::AlreadySent
            | Self::Finished(_)
            | Self::DeliveryAlreadyRecorded
            | Self::AlreadyErased
            | Self::NotEnded
            | Self::RetentionNotOver(_) => RuleKind::Conflict,
            Self::Signature(DiiaSignatureError::Locked) => RuleKind::RateLimited,
            Self::Registry(RegistryError::Unavailable(_))
            | Self::PhotoUnavailable(_)
            | Self::Signature(DiiaSignatureError::Unavailable(_)) => RuleKind::Unavailable,
            Self::MissingDocuments(_)
            | Self::ChoiceNotOffered { .. }
            | Self::ChoiceIncomplete(_)
            | Self::PhotoNotVerified
            | Self::PhotoRefused(_)
            | Self::Signature(DiiaSignatureError::WrongCode { .. } | DiiaSignatureError::NoSignatureKey)
            | Self::NotConsented
            | Self::NotSent
            | Self::NotExpiredYet => RuleKind::Invalid,
            Self::RecipientWithdrawn(e) => e.kind(),
        }
    }
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
            Self::PhotoRefused(refusal) => refusal.code(),
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
            Self::AlreadyErased => "share-data-already-erased",
            Self::NotEnded => "share-not-ended",
            Self::RetentionNotOver(_) => "share-retention-not-over",
            Self::RecipientWithdrawn(e) => e.code(),
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
    /// When the request ended: sent, declined or expired.
    ended_at: Option<DateTime<Utc>>,
    erased: Option<(DateTime<Utc>, ErasureReason)>,
    #[serde(default)]
    consent: Option<SignedConsent>,
}

/// The consent statement the citizen signed with Diia.Signature, and the detached CMS over its
/// exact bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedConsent {
    pub statement: String,
    pub signature_base64: String,
    pub signed_at: DateTime<Utc>,
}

impl ShareRequest {
    /// The signed consent, while its personal data is kept.
    pub fn consent(&self) -> Option<&SignedConsent> {
        self.consent.as_ref()
    }
    /// When and why its personal data was erased, if it was.
    pub fn erased(&self) -> Option<(DateTime<Utc>, ErasureReason)> {
        self.erased
    }
    /// When the service's retention of the request's data runs out, once the request ended.
    pub fn retention_ends_at(&self) -> Option<DateTime<Utc>> {
        let days = i64::from(self.snapshot.as_ref()?.retention_days);
        Some(self.ended_at? + chrono::Duration::days(days))
    }
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
            C::VerifyPhoto { assertion, at } => {
                self.ensure_open_for_citizen(at)?;
                if self.status != ShareStatus::Opened {
                    return Err(Error::PhotoAlreadyVerified);
                }
                let (Some(id), Some(citizen)) = (self.share_request_id, self.citizen.clone()) else {
                    return Err(Error::NotFound);
                };
                match services.photo.verify(&citizen, id, &assertion, at).await {
                    Ok(assertion_id) => {
                        sink.write(E::PhotoVerified { at, assertion_id: Some(assertion_id) }, self).await;
                        Ok(())
                    }
                    Err(PhotoError::Refused(refusal)) => Err(Error::PhotoRefused(refusal)),
                    Err(PhotoError::Unavailable(reason)) => Err(Error::PhotoUnavailable(reason)),
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
                let statement = ConsentStatement::new(id, citizen.clone(), snapshot, self.chosen_list(), at);
                let statement = serde_json::to_string(&statement).expect("a statement of plain strings always serialises");
                let signature = services.signature.sign(&citizen, &code, id, statement.as_bytes()).await.map_err(Error::Signature)?;
                let signature_base64 = BASE64_STANDARD.encode(signature);
                sink.write(E::ConsentSigned { statement, signature_base64, signed_at: at }, self).await;
                Ok(())
            }
            C::Send { at, recipient, copy_seed } => {
                self.ensure_open_for_citizen(at)?;
                if self.status != ShareStatus::Consented {
                    return Err(Error::NotConsented);
                }
                recipient.map_err(Error::RecipientWithdrawn)?;
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
                sink.write(E::Sent { copies, recipient_email, sent_at: at, copy_seed: Some(copy_seed) }, self).await;
                Ok(())
            }
            C::Decline { at } => {
                self.ensure_open_for_citizen(at)?;
                sink.write(E::Declined { at }, self).await;
                Ok(())
            }
            C::ErasePersonalData { .. } if self.status == ShareStatus::New => Err(Error::NotFound),
            C::ErasePersonalData { .. } if self.erased.is_some() => Err(Error::AlreadyErased),
            C::ErasePersonalData { at, reason } => {
                let ends = self.retention_ends_at().ok_or(Error::NotEnded)?;
                if reason == ErasureReason::RetentionEnded && at < ends {
                    return Err(Error::RetentionNotOver(ends));
                }
                sink.write(E::PersonalDataErased { at, reason }, self).await;
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
            E::ConsentSigned { statement, signature_base64, signed_at } => {
                self.status = ShareStatus::Consented;
                // Loaded after erasure, the statement is an empty placeholder: nothing to keep.
                self.consent = (!statement.is_empty()).then_some(SignedConsent { statement, signature_base64, signed_at });
            }
            E::Sent { sent_at, .. } => {
                self.status = ShareStatus::Sent;
                self.ended_at = Some(sent_at);
            }
            E::Delivered { .. } => self.status = ShareStatus::Delivered,
            E::DeliveryFailed { .. } => self.status = ShareStatus::DeliveryFailed,
            E::Declined { at } => {
                self.status = ShareStatus::Declined;
                self.ended_at = Some(at);
            }
            E::Expired { at } => {
                self.status = ShareStatus::Expired;
                self.ended_at = Some(at);
            }
            E::PersonalDataErased { at, reason } => {
                self.erased = Some((at, reason));
                self.consent = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::DocumentField;
    use cqrs_es::test::TestFramework;

    /// The registries: what they hold for the citizen, or the error they answer with.
    struct Registry(Result<Vec<HeldDocument>, RegistryError>);
    #[async_trait]
    impl DocumentRegistry for Registry {
        async fn documents_of(&self, _: &Rnokpp) -> Result<Vec<HeldDocument>, RegistryError> {
            self.0.clone()
        }
    }
    /// Photo verification: the assertion "someone else" does not match, an empty one is missing;
    /// any other verifies under its own text as id. `Photo(Some(reason))` is a provider that does not answer.
    struct Photo(Option<String>);
    #[async_trait]
    impl PhotoVerification for Photo {
        async fn verify(&self, _: &Rnokpp, _: Uuid, assertion: &str, _: DateTime<Utc>) -> Result<String, PhotoError> {
            if let Some(reason) = &self.0 {
                return Err(PhotoError::Unavailable(reason.clone()));
            }
            match assertion {
                "" => Err(PhotoError::Refused(PhotoRefusal::Missing)),
                "someone else" => Err(PhotoError::Refused(PhotoRefusal::NoMatch)),
                id => Ok(id.to_string()),
            }
        }
    }
    /// Diia.Signature: the code 123456 signs, any other is wrong; `Signature(Some(error))` answers
    /// every code with that error.
    struct Signature(Option<DiiaSignatureError>);
    #[async_trait]
    impl DiiaSignature for Signature {
        async fn sign(&self, _: &Rnokpp, code: &str, _: Uuid, statement: &[u8]) -> Result<Vec<u8>, DiiaSignatureError> {
            if let Some(error) = &self.0 {
                return Err(error.clone());
            }
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
    fn fakes(registry: Result<Vec<HeldDocument>, RegistryError>, photo: Photo, signature: Signature) -> TestFramework<ShareRequest> {
        TestFramework::with(ShareRequestServices {
            registry: Arc::new(Registry(registry)),
            photo: Arc::new(photo),
            signature: Arc::new(signature),
        })
    }
    fn framework(held: Vec<HeldDocument>) -> TestFramework<ShareRequest> {
        fakes(Ok(held), Photo(None), Signature(None))
    }
    fn registry_failing(error: RegistryError) -> TestFramework<ShareRequest> {
        fakes(Err(error), Photo(None), Signature(None))
    }
    fn photo_unavailable(reason: &str) -> TestFramework<ShareRequest> {
        fakes(Ok(parent_documents()), Photo(Some(reason.into())), Signature(None))
    }
    fn signature_failing(error: DiiaSignatureError) -> TestFramework<ShareRequest> {
        fakes(Ok(parent_documents()), Photo(None), Signature(Some(error)))
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
        let mut events = vec![opened(passport_and_tax()), ShareRequestEvent::PhotoVerified { at: t(1), assertion_id: Some("me".into()) }];
        let mut agg = ShareRequest::default();
        for e in events.clone() {
            agg.apply(e);
        }
        let statement = ConsentStatement::new(id(), citizen(), agg.snapshot.as_ref().unwrap(), agg.chosen_list(), t(2));
        let statement = serde_json::to_string(&statement).unwrap();
        let signature_base64 = BASE64_STANDARD.encode(statement.len().to_be_bytes());
        events.push(ShareRequestEvent::ConsentSigned { statement, signature_base64, signed_at: t(2) });
        events
    }

    #[test]
    fn the_signed_consent_is_kept_with_the_request_until_its_data_is_erased() {
        let mut agg = ShareRequest::default();
        consented().into_iter().for_each(|e| agg.apply(e));
        let ShareRequestEvent::ConsentSigned { statement, .. } = &consented()[2] else { unreachable!() };
        assert_eq!(agg.consent().map(|c| (c.statement.as_str(), c.signed_at)), Some((statement.as_str(), t(2))));
        agg.apply(ShareRequestEvent::PersonalDataErased { at: t(9), reason: ErasureReason::CitizenRequest });
        assert_eq!(agg.consent(), None);
        let mut placeholder = ShareRequest::default();
        placeholder.apply(ShareRequestEvent::ConsentSigned { statement: String::new(), signature_base64: String::new(), signed_at: t(2) });
        assert_eq!(placeholder.consent(), None, "an erased event's placeholder is no consent");
    }

    fn copy_seed() -> Uuid {
        Uuid::from_u128(0x5eed)
    }
    fn sent() -> Vec<ShareRequestEvent> {
        let mut events = consented();
        events.push(ShareRequestEvent::Sent {
            copies: parent_documents()[..2].to_vec(),
            recipient_email: EmailAddress::parse("desk@palazzo.ua").unwrap(),
            sent_at: t(3),
            copy_seed: Some(copy_seed()),
        });
        events
    }
    fn then(mut events: Vec<ShareRequestEvent>, last: ShareRequestEvent) -> Vec<ShareRequestEvent> {
        events.push(last);
        events
    }
    fn delivered() -> Vec<ShareRequestEvent> {
        then(sent(), ShareRequestEvent::Delivered { accepted_at: t(4), message_id: "m".into() })
    }
    fn delivery_failed() -> Vec<ShareRequestEvent> {
        then(sent(), ShareRequestEvent::DeliveryFailed { at: t(4), reason: "550 mailbox unavailable".into() })
    }
    fn declined() -> Vec<ShareRequestEvent> {
        then(vec![opened(passport_and_tax())], ShareRequestEvent::Declined { at: t(1) })
    }
    fn expired() -> Vec<ShareRequestEvent> {
        then(vec![opened(passport_and_tax())], ShareRequestEvent::Expired { at: t(16) })
    }
    /// Every command a citizen gives, at one moment.
    fn citizen_commands(at: DateTime<Utc>) -> Vec<ShareRequestCommand> {
        vec![
            ShareRequestCommand::ChooseDocuments { choices: vec![], at },
            ShareRequestCommand::VerifyPhoto { assertion: "me".into(), at },
            ShareRequestCommand::Confirm { code: "123456".into(), at },
            ShareRequestCommand::Send { at, recipient: Ok(()), copy_seed: copy_seed() },
            ShareRequestCommand::Decline { at },
        ]
    }
    fn delivery_commands() -> Vec<ShareRequestCommand> {
        vec![
            ShareRequestCommand::RecordDelivery { accepted_at: t(5), message_id: "m2".into() },
            ShareRequestCommand::RecordDeliveryFailure { at: t(5), reason: "x".into() },
        ]
    }

    // Open

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
        framework(parent_documents()).given_no_previous_events().when_async(open(wanted)).await.then_expect_error(err);
    }

    #[tokio::test]
    async fn a_request_is_opened_once() {
        framework(parent_documents())
            .given(vec![opened(passport_and_tax())])
            .when_async(open(passport_and_tax()))
            .await
            .then_expect_error(ShareRequestError::AlreadyOpened);
    }

    #[tokio::test]
    async fn a_citizen_the_registries_do_not_know_opens_nothing() {
        registry_failing(RegistryError::UnknownCitizen)
            .given_no_previous_events()
            .when_async(open(passport_and_tax()))
            .await
            .then_expect_error(ShareRequestError::Registry(RegistryError::UnknownCitizen));
    }

    #[tokio::test]
    async fn nothing_opens_while_the_registries_do_not_answer() {
        registry_failing(RegistryError::Unavailable("тайм-аут".into()))
            .given_no_previous_events()
            .when_async(open(passport_and_tax()))
            .await
            .then_expect_error(ShareRequestError::Registry(RegistryError::Unavailable("тайм-аут".into())));
    }

    // ChooseDocuments

    #[tokio::test]
    async fn a_parent_with_two_children_must_choose_which_birth_certificate() {
        let wanted = vec![DocumentType::InternalPassport, DocumentType::BirthCertificate];
        framework(parent_documents())
            .given(vec![opened(wanted.clone()), ShareRequestEvent::PhotoVerified { at: t(1), assertion_id: Some("me".into()) }])
            .when_async(ShareRequestCommand::Confirm { code: "123456".into(), at: t(2) })
            .await
            .then_expect_error(ShareRequestError::ChoiceIncomplete(vec![DocumentType::BirthCertificate]));
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
            .then_expect_error(ShareRequestError::ChoiceNotOffered {
                document_type: DocumentType::BirthCertificate,
                document_id: "someone else's".into(),
            });
    }

    #[tokio::test]
    async fn a_document_offered_for_one_type_cannot_be_chosen_for_another() {
        let wanted = vec![DocumentType::TaxpayerCard, DocumentType::BirthCertificate];
        let mixed = DocumentChoice { document_type: DocumentType::TaxpayerCard, document_id: "I-БК 654321".into() };
        framework(parent_documents())
            .given(vec![opened(wanted)])
            .when_async(ShareRequestCommand::ChooseDocuments { choices: vec![mixed], at: t(1) })
            .await
            .then_expect_error(ShareRequestError::ChoiceNotOffered {
                document_type: DocumentType::TaxpayerCard,
                document_id: "I-БК 654321".into(),
            });
    }

    #[tokio::test]
    async fn choices_are_final_once_consent_is_signed() {
        let choice = DocumentChoice { document_type: DocumentType::TaxpayerCard, document_id: "3214567895".into() };
        framework(parent_documents())
            .given(consented())
            .when_async(ShareRequestCommand::ChooseDocuments { choices: vec![choice], at: t(3) })
            .await
            .then_expect_error(ShareRequestError::AlreadyConsented);
    }

    #[tokio::test]
    async fn the_chosen_certificate_is_the_one_sent() {
        let wanted = vec![DocumentType::BirthCertificate];
        let choice = DocumentChoice { document_type: DocumentType::BirthCertificate, document_id: "I-БК 654321".into() };
        let mut given = vec![
            opened(wanted),
            ShareRequestEvent::DocumentsChosen { choices: vec![choice] },
            ShareRequestEvent::PhotoVerified { at: t(1), assertion_id: Some("me".into()) },
        ];
        given.push(ShareRequestEvent::ConsentSigned { statement: "{}".into(), signature_base64: "AA==".into(), signed_at: t(2) });
        let events = framework(parent_documents())
            .given(given)
            .when_async(ShareRequestCommand::Send { at: t(3), recipient: Ok(()), copy_seed: copy_seed() })
            .await
            .inspect_result()
            .unwrap();
        let ShareRequestEvent::Sent { copies, .. } = &events[0] else { panic!("{events:?}") };
        assert_eq!(copies.iter().map(|c| c.label.as_str()).collect::<Vec<_>>(), ["Їржина, 2019"]);
    }

    // VerifyPhoto

    #[tokio::test]
    async fn photo_verification_comes_before_the_signature_code() {
        framework(parent_documents())
            .given(vec![opened(passport_and_tax())])
            .when_async(ShareRequestCommand::Confirm { code: "123456".into(), at: t(1) })
            .await
            .then_expect_error(ShareRequestError::PhotoNotVerified);
        framework(parent_documents())
            .given(vec![opened(passport_and_tax())])
            .when_async(ShareRequestCommand::VerifyPhoto { assertion: "someone else".into(), at: t(1) })
            .await
            .then_expect_error(ShareRequestError::PhotoRefused(PhotoRefusal::NoMatch));
    }

    #[tokio::test]
    async fn a_matching_live_photo_verifies_the_citizen() {
        framework(parent_documents())
            .given(vec![opened(passport_and_tax())])
            .when_async(ShareRequestCommand::VerifyPhoto { assertion: "me".into(), at: t(1) })
            .await
            .then_expect_events(vec![ShareRequestEvent::PhotoVerified { at: t(1), assertion_id: Some("me".into()) }]);
    }

    #[tokio::test]
    async fn a_refused_assertion_leaves_the_request_unverified() {
        framework(parent_documents())
            .given(vec![opened(passport_and_tax())])
            .when_async(ShareRequestCommand::VerifyPhoto { assertion: String::new(), at: t(1) })
            .await
            .then_expect_error(ShareRequestError::PhotoRefused(PhotoRefusal::Missing));
    }

    #[tokio::test]
    async fn the_photo_is_verified_once() {
        for given in [consented()[..2].to_vec(), consented()] {
            framework(parent_documents())
                .given(given)
                .when_async(ShareRequestCommand::VerifyPhoto { assertion: "me".into(), at: t(2) })
                .await
                .then_expect_error(ShareRequestError::PhotoAlreadyVerified);
        }
    }

    #[tokio::test]
    async fn no_verification_while_the_photo_service_does_not_answer() {
        photo_unavailable("сервіс не відповідає")
            .given(vec![opened(passport_and_tax())])
            .when_async(ShareRequestCommand::VerifyPhoto { assertion: "me".into(), at: t(1) })
            .await
            .then_expect_error(ShareRequestError::PhotoUnavailable("сервіс не відповідає".into()));
    }

    // Confirm

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
            .then_expect_error(ShareRequestError::Signature(DiiaSignatureError::WrongCode { attempts_left: 2 }));
    }

    #[tokio::test]
    async fn consent_is_signed_once() {
        framework(parent_documents())
            .given(consented())
            .when_async(ShareRequestCommand::Confirm { code: "123456".into(), at: t(3) })
            .await
            .then_expect_error(ShareRequestError::AlreadyConsented);
    }

    #[tokio::test]
    async fn each_diia_signature_refusal_is_passed_on_as_it_came() {
        for error in [
            DiiaSignatureError::Locked,
            DiiaSignatureError::NoSignatureKey,
            DiiaSignatureError::Unavailable("HSM не відповідає".into()),
            DiiaSignatureError::WrongCode { attempts_left: 0 },
        ] {
            signature_failing(error.clone())
                .given(consented()[..2].to_vec())
                .when_async(ShareRequestCommand::Confirm { code: "123456".into(), at: t(2) })
                .await
                .then_expect_error(ShareRequestError::Signature(error));
        }
    }

    // Send

    #[tokio::test]
    async fn sending_needs_consent_and_happens_once() {
        framework(parent_documents())
            .given(consented()[..2].to_vec())
            .when_async(ShareRequestCommand::Send { at: t(3), recipient: Ok(()), copy_seed: copy_seed() })
            .await
            .then_expect_error(ShareRequestError::NotConsented);
        let events = framework(parent_documents())
            .given(consented())
            .when_async(ShareRequestCommand::Send { at: t(3), recipient: Ok(()), copy_seed: copy_seed() })
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
            .when_async(ShareRequestCommand::Send { at: t(4), recipient: Ok(()), copy_seed: copy_seed() })
            .await
            .then_expect_error(ShareRequestError::AlreadySent);
    }

    #[tokio::test]
    async fn a_recipient_that_no_longer_stands_stops_the_send() {
        for why in [ScanError::PartnerNotActive, ScanError::RevokedQr, ScanError::BranchEmailNotConfirmed, ScanError::RecipientChanged] {
            framework(parent_documents())
                .given(consented())
                .when_async(ShareRequestCommand::Send { at: t(3), recipient: Err(why), copy_seed: copy_seed() })
                .await
                .then_expect_error(ShareRequestError::RecipientWithdrawn(why));
        }
    }

    #[tokio::test]
    async fn nothing_is_sent_before_the_photo_is_verified() {
        framework(parent_documents())
            .given(vec![opened(passport_and_tax())])
            .when_async(ShareRequestCommand::Send { at: t(3), recipient: Ok(()), copy_seed: copy_seed() })
            .await
            .then_expect_error(ShareRequestError::NotConsented);
    }

    #[tokio::test]
    async fn a_consented_request_sends_the_copies_to_the_snapshot_mailbox() {
        framework(parent_documents())
            .given(consented())
            .when_async(ShareRequestCommand::Send { at: t(3), recipient: Ok(()), copy_seed: copy_seed() })
            .await
            .then_expect_events(vec![sent()[3].clone()]);
    }

    #[tokio::test]
    async fn a_document_withdrawn_after_consent_means_nothing_is_sent() {
        framework(parent_documents()[..1].to_vec())
            .given(consented())
            .when_async(ShareRequestCommand::Send { at: t(3), recipient: Ok(()), copy_seed: copy_seed() })
            .await
            .then_expect_error(ShareRequestError::MissingDocuments(vec![DocumentType::TaxpayerCard]));
    }

    #[tokio::test]
    async fn nothing_is_sent_while_the_registries_do_not_answer() {
        registry_failing(RegistryError::Unavailable("тайм-аут".into()))
            .given(consented())
            .when_async(ShareRequestCommand::Send { at: t(3), recipient: Ok(()), copy_seed: copy_seed() })
            .await
            .then_expect_error(ShareRequestError::Registry(RegistryError::Unavailable("тайм-аут".into())));
    }

    // Decline

    #[tokio::test]
    async fn the_citizen_declines_before_anything_is_sent() {
        for given in [vec![opened(passport_and_tax())], consented()] {
            framework(parent_documents())
                .given(given)
                .when_async(ShareRequestCommand::Decline { at: t(3) })
                .await
                .then_expect_events(vec![ShareRequestEvent::Declined { at: t(3) }]);
        }
    }

    // What every citizen command checks first

    #[tokio::test]
    async fn a_request_that_was_never_opened_is_not_found() {
        for cmd in citizen_commands(t(1)) {
            framework(parent_documents()).given_no_previous_events().when_async(cmd).await.then_expect_error(ShareRequestError::NotFound);
        }
    }

    #[tokio::test]
    async fn after_the_send_the_citizen_can_change_nothing() {
        for given in [sent(), delivered(), delivery_failed()] {
            for cmd in citizen_commands(t(5)) {
                framework(parent_documents()).given(given.clone()).when_async(cmd).await.then_expect_error(ShareRequestError::AlreadySent);
            }
        }
    }

    #[tokio::test]
    async fn a_declined_request_is_finished() {
        for cmd in citizen_commands(t(2)) {
            framework(parent_documents())
                .given(declined())
                .when_async(cmd)
                .await
                .then_expect_error(ShareRequestError::Finished("ви відмовилися надсилати документи"));
        }
    }

    #[tokio::test]
    async fn an_expired_request_takes_no_citizen_command() {
        for cmd in citizen_commands(t(17)) {
            framework(parent_documents()).given(expired()).when_async(cmd).await.then_expect_error(ShareRequestError::Expired);
        }
    }

    #[tokio::test]
    async fn a_citizen_command_past_the_deadline_is_refused_even_before_expiry_is_recorded() {
        for cmd in citizen_commands(t(15)) {
            framework(parent_documents()).given(consented()).when_async(cmd).await.then_expect_error(ShareRequestError::Expired);
        }
    }

    // Expire

    #[tokio::test]
    async fn an_unfinished_request_expires() {
        framework(parent_documents())
            .given(consented())
            .when_async(ShareRequestCommand::Send { at: t(15), recipient: Ok(()), copy_seed: copy_seed() })
            .await
            .then_expect_error(ShareRequestError::Expired);
        assert_eq!(ShareRequestError::Expired.diia_code(), Some(12201002));
        framework(parent_documents())
            .given(vec![opened(passport_and_tax())])
            .when_async(ShareRequestCommand::Expire { at: t(14) })
            .await
            .then_expect_error(ShareRequestError::NotExpiredYet);
        framework(parent_documents())
            .given(vec![opened(passport_and_tax())])
            .when_async(ShareRequestCommand::Expire { at: t(16) })
            .await
            .then_expect_events(vec![ShareRequestEvent::Expired { at: t(16) }]);
    }

    #[tokio::test]
    async fn no_unfinished_request_expires_before_its_time() {
        for given in [vec![opened(passport_and_tax())], consented()[..2].to_vec(), consented()] {
            framework(parent_documents())
                .given(given)
                .when_async(ShareRequestCommand::Expire { at: t(14) })
                .await
                .then_expect_error(ShareRequestError::NotExpiredYet);
        }
    }

    #[tokio::test]
    async fn a_request_expires_at_the_very_moment_its_time_runs_out() {
        for given in [consented()[..2].to_vec(), consented()] {
            framework(parent_documents())
                .given(given)
                .when_async(ShareRequestCommand::Expire { at: t(15) })
                .await
                .then_expect_events(vec![ShareRequestEvent::Expired { at: t(15) }]);
        }
    }

    #[tokio::test]
    async fn a_finished_or_unknown_request_does_not_expire() {
        let cases = [
            (vec![], ShareRequestError::NotFound),
            (sent(), ShareRequestError::AlreadySent),
            (delivered(), ShareRequestError::AlreadySent),
            (delivery_failed(), ShareRequestError::AlreadySent),
            (declined(), ShareRequestError::Finished("ви відмовилися надсилати документи")),
            (expired(), ShareRequestError::Expired),
        ];
        for (given, error) in cases {
            framework(parent_documents()).given(given).when_async(ShareRequestCommand::Expire { at: t(30) }).await.then_expect_error(error);
        }
    }

    // ErasePersonalData

    fn days(n: i64) -> DateTime<Utc> {
        t(3) + chrono::Duration::days(n)
    }

    #[tokio::test]
    async fn personal_data_is_erased_when_the_services_retention_has_run_out_after_the_send() {
        let erase = |at| ShareRequestCommand::ErasePersonalData { at, reason: ErasureReason::RetentionEnded };
        framework(parent_documents())
            .given(delivered())
            .when_async(erase(days(30)))
            .await
            .then_expect_events(vec![ShareRequestEvent::PersonalDataErased { at: days(30), reason: ErasureReason::RetentionEnded }]);
        framework(parent_documents())
            .given(delivered())
            .when_async(erase(days(30) - chrono::Duration::seconds(1)))
            .await
            .then_expect_error(ShareRequestError::RetentionNotOver(days(30)));
    }

    #[tokio::test]
    async fn a_declined_or_expired_request_is_kept_for_the_same_retention_from_its_end() {
        let erase = |at| ShareRequestCommand::ErasePersonalData { at, reason: ErasureReason::RetentionEnded };
        let declined_at = match declined().last() {
            Some(ShareRequestEvent::Declined { at }) => *at,
            _ => unreachable!("declined() ends with Declined"),
        };
        framework(parent_documents())
            .given(declined())
            .when_async(erase(declined_at + chrono::Duration::days(30)))
            .await
            .then_expect_events(vec![ShareRequestEvent::PersonalDataErased {
                at: declined_at + chrono::Duration::days(30),
                reason: ErasureReason::RetentionEnded,
            }]);
        framework(parent_documents())
            .given(expired())
            .when_async(erase(t(16)))
            .await
            .then_expect_error(ShareRequestError::RetentionNotOver(t(16) + chrono::Duration::days(30)));
    }

    #[tokio::test]
    async fn a_citizen_may_have_an_ended_request_erased_at_once_but_not_an_open_one() {
        let erase = |at| ShareRequestCommand::ErasePersonalData { at, reason: ErasureReason::CitizenRequest };
        framework(parent_documents())
            .given(sent())
            .when_async(erase(t(4)))
            .await
            .then_expect_events(vec![ShareRequestEvent::PersonalDataErased { at: t(4), reason: ErasureReason::CitizenRequest }]);
        for given in [vec![opened(passport_and_tax())], consented()] {
            framework(parent_documents()).given(given).when_async(erase(t(4))).await.then_expect_error(ShareRequestError::NotEnded);
        }
    }

    #[tokio::test]
    async fn erasure_happens_once_and_only_to_a_request_that_exists() {
        let erase = ShareRequestCommand::ErasePersonalData { at: days(40), reason: ErasureReason::RetentionEnded };
        let mut erased = delivered();
        erased.push(ShareRequestEvent::PersonalDataErased { at: days(31), reason: ErasureReason::RetentionEnded });
        framework(parent_documents()).given(erased).when_async(erase.clone()).await.then_expect_error(ShareRequestError::AlreadyErased);
        framework(parent_documents()).given(vec![]).when_async(erase).await.then_expect_error(ShareRequestError::NotFound);
    }

    // RecordDelivery and RecordDeliveryFailure

    #[tokio::test]
    async fn delivery_is_recorded_once_after_the_send() {
        framework(parent_documents())
            .given(consented())
            .when_async(ShareRequestCommand::RecordDelivery { accepted_at: t(4), message_id: "m".into() })
            .await
            .then_expect_error(ShareRequestError::NotSent);
        framework(parent_documents())
            .given(sent())
            .when_async(ShareRequestCommand::RecordDelivery { accepted_at: t(20), message_id: "m".into() })
            .await
            .then_expect_events(vec![ShareRequestEvent::Delivered { accepted_at: t(20), message_id: "m".into() }]);
        framework(parent_documents())
            .given(then(sent(), ShareRequestEvent::Delivered { accepted_at: t(20), message_id: "m".into() }))
            .when_async(ShareRequestCommand::RecordDeliveryFailure { at: t(21), reason: "x".into() })
            .await
            .then_expect_error(ShareRequestError::DeliveryAlreadyRecorded);
    }

    #[tokio::test]
    async fn a_failed_delivery_of_sent_copies_is_recorded() {
        framework(parent_documents())
            .given(sent())
            .when_async(ShareRequestCommand::RecordDeliveryFailure { at: t(4), reason: "550 mailbox unavailable".into() })
            .await
            .then_expect_events(vec![delivery_failed()[4].clone()]);
    }

    #[tokio::test]
    async fn a_delivery_outcome_already_recorded_is_not_recorded_again() {
        for given in [delivered(), delivery_failed()] {
            for cmd in delivery_commands() {
                framework(parent_documents())
                    .given(given.clone())
                    .when_async(cmd)
                    .await
                    .then_expect_error(ShareRequestError::DeliveryAlreadyRecorded);
            }
        }
    }

    #[tokio::test]
    async fn no_delivery_outcome_for_copies_never_sent() {
        for given in [vec![opened(passport_and_tax())], consented()[..2].to_vec(), consented(), declined(), expired()] {
            for cmd in delivery_commands() {
                framework(parent_documents()).given(given.clone()).when_async(cmd).await.then_expect_error(ShareRequestError::NotSent);
            }
        }
    }

    #[tokio::test]
    async fn no_delivery_outcome_for_an_unknown_request() {
        for cmd in delivery_commands() {
            framework(parent_documents()).given_no_previous_events().when_async(cmd).await.then_expect_error(ShareRequestError::NotFound);
        }
    }

    // Scan: ShareSnapshot::for_scan decides whether a QR may open a request

    /// A partner, branch and service built from events; the service's QR is version 1, digest d1.
    fn scan_world(
        partner_events: Vec<crate::partner::PartnerEvent>,
        branch_events: Vec<crate::branch::BranchEvent>,
        more_service_events: Vec<crate::service::ServiceEvent>,
    ) -> (Partner, Branch, Service) {
        use crate::service::{tests as s, ServiceEvent};
        let mut partner = Partner::default();
        partner_events.into_iter().for_each(|e| partner.apply(e));
        let mut branch = Branch::default();
        branch_events.into_iter().for_each(|e| branch.apply(e));
        let mut service = Service::default();
        service.apply(s::created(vec![DocumentType::InternalPassport]));
        service.apply(ServiceEvent::QrIssued { qr_version: 1, token_digest: "d1".into(), short_code: "D1SHORT".into() });
        more_service_events.into_iter().for_each(|e| service.apply(e));
        (partner, branch, service)
    }
    fn scan(world: (Partner, Branch, Service), digest: &str) -> Result<ShareSnapshot, ScanError> {
        let (partner, branch, service) = world;
        ShareSnapshot::for_scan(&partner, &branch, &service, digest)
    }

    #[test]
    fn a_qr_works_only_for_an_active_partner_with_a_confirmed_mailbox() {
        use crate::branch::tests as b;
        use crate::partner::tests as p;
        let (partner, branch, service) = scan_world(p::active_partner(), b::confirmed(), vec![]);
        let snap = ShareSnapshot::for_scan(&partner, &branch, &service, "d1").unwrap();
        assert_eq!(snap.recipient_email.as_str(), "desk@palazzo.ua");
        assert_eq!(snap.branch_address, "Тернопільська область, м. Тернопіль, вул. Руська, 12");
        assert_eq!(snap.qr_short_code, "D1SHORT", "the app shows the poster's code");
        assert_eq!(ShareSnapshot::for_scan(&partner, &branch, &service, "zz"), Err(ScanError::ForgedQr));
        assert_eq!(ShareSnapshot::for_scan(&partner, &branch, &Service::default(), "d1"), Err(ScanError::UnknownQr));
        assert_eq!(scan(scan_world(p::active_partner(), b::created(), vec![]), "d1"), Err(ScanError::BranchEmailNotConfirmed));
        let mut suspended = p::active_partner();
        suspended.push(crate::partner::PartnerEvent::Suspended { reason: "перевірка".into() });
        assert_eq!(scan(scan_world(suspended, b::confirmed(), vec![]), "d1"), Err(ScanError::PartnerNotActive));
    }

    #[test]
    fn a_scan_snapshot_shows_what_the_partner_branch_and_service_say_now() {
        use crate::branch::tests as b;
        use crate::partner::tests as p;
        let snap = scan(scan_world(p::active_partner(), b::confirmed(), vec![]), "d1").unwrap();
        assert_eq!(snap, {
            let mut expected = snapshot(vec![DocumentType::InternalPassport]);
            expected.qr_short_code = "D1SHORT".into();
            expected
        });
    }

    #[test]
    fn a_qr_stops_when_moderation_removes_its_service_or_its_branch() {
        use crate::branch::{tests as b, BranchEvent};
        use crate::partner::tests as p;
        use crate::service::ServiceEvent;
        let names = crate::names::ServiceName::parse_list("для поселення у готель").unwrap();
        let service_removed = vec![ServiceEvent::RemovedByModeration { revision: 1, names, reason: "мета".into(), notified: None }];
        assert_eq!(scan(scan_world(p::active_partner(), b::confirmed(), service_removed), "d1"), Err(ScanError::RemovedByModeration));
        let mut branch_removed = b::confirmed();
        branch_removed.push(BranchEvent::RemovedByModeration {
            revision: 1,
            name: crate::names::BranchName::parse("Готель «Палаццо»").unwrap(),
            reason: "бренд".into(),
            notified: None,
        });
        assert_eq!(scan(scan_world(p::active_partner(), branch_removed, vec![]), "d1"), Err(ScanError::RemovedByModeration));
        let approved = vec![ServiceEvent::NamesApproved { revision: 1 }];
        assert!(scan(scan_world(p::active_partner(), b::confirmed(), approved), "d1").is_ok(), "an approved name serves");
    }

    #[test]
    fn a_replaced_qr_is_refused_as_rotated() {
        use crate::branch::tests as b;
        use crate::partner::tests as p;
        use crate::service::ServiceEvent;
        let rotated = vec![ServiceEvent::QrIssued { qr_version: 2, token_digest: "d2".into(), short_code: "D2SHORT".into() }];
        assert_eq!(scan(scan_world(p::active_partner(), b::confirmed(), rotated), "d1"), Err(ScanError::RotatedQr));
    }

    #[test]
    fn a_revoked_qr_is_refused_as_revoked() {
        use crate::branch::tests as b;
        use crate::partner::tests as p;
        use crate::service::ServiceEvent;
        let revoked = vec![ServiceEvent::QrRevoked { qr_version: 1 }];
        assert_eq!(scan(scan_world(p::active_partner(), b::confirmed(), revoked), "d1"), Err(ScanError::RevokedQr));
    }

    #[test]
    fn the_qr_of_a_deactivated_service_is_refused_even_when_it_is_current() {
        use crate::branch::tests as b;
        use crate::partner::tests as p;
        use crate::service::ServiceEvent;
        let world = || scan_world(p::active_partner(), b::confirmed(), vec![ServiceEvent::Deactivated]);
        assert_eq!(scan(world(), "d1"), Err(ScanError::ServiceDeactivated));
        assert_eq!(scan(world(), "zz"), Err(ScanError::ServiceDeactivated));
    }

    #[test]
    fn a_qr_of_a_partner_still_onboarding_does_not_work() {
        use crate::branch::tests as b;
        use crate::partner::tests as p;
        assert_eq!(scan(scan_world(p::active_partner()[..3].to_vec(), b::confirmed(), vec![]), "d1"), Err(ScanError::PartnerNotActive));
    }

    #[test]
    fn a_qr_whose_branch_is_unknown_is_not_recognised() {
        use crate::partner::tests as p;
        assert_eq!(scan(scan_world(p::active_partner(), vec![], vec![]), "d1"), Err(ScanError::UnknownQr));
    }

    // Stored events

    #[tokio::test]
    async fn a_request_opened_under_older_rules_still_loads_and_sends() {
        // A РНОКПП with a wrong check digit and a mailbox without a dotted domain: both fail `parse` today.
        assert!(Rnokpp::parse("3214567890").is_err() && EmailAddress::parse("desk@palazzo").is_err());
        let mut stored = serde_json::to_value(opened(passport_and_tax())).unwrap();
        stored["Opened"]["citizen"] = "3214567890".into();
        stored["Opened"]["snapshot"]["recipient_email"] = "desk@palazzo".into();
        let opened: ShareRequestEvent = serde_json::from_value(stored).expect("stored events load whatever today's rules say");
        let mut agg = ShareRequest::default();
        agg.apply(opened.clone());
        assert_eq!(agg.citizen().map(Rnokpp::as_str), Some("3214567890"));
        let given = vec![opened, consented()[1].clone(), consented()[2].clone()];
        let events = framework(parent_documents())
            .given(given)
            .when_async(ShareRequestCommand::Send { at: t(3), recipient: Ok(()), copy_seed: copy_seed() })
            .await
            .inspect_result()
            .unwrap();
        let [ShareRequestEvent::Sent { recipient_email, .. }] = &events[..] else { panic!("{events:?}") };
        assert_eq!(recipient_email.as_str(), "desk@palazzo");
    }

    #[test]
    fn a_stored_share_event_with_fields_this_version_does_not_know_still_loads() {
        let mut stored = serde_json::to_value(opened(passport_and_tax())).unwrap();
        stored["Opened"]["channel"] = "android".into();
        stored["Opened"]["snapshot"]["branch_phone"] = "+380671234567".into();
        stored["Opened"]["candidates"][0]["expires_on"] = "2030-01-01".into();
        assert_eq!(serde_json::from_value::<ShareRequestEvent>(stored).unwrap(), opened(passport_and_tax()));
        let delivered =
            serde_json::json!({"Delivered": {"accepted_at": "2026-11-26T10:04:00Z", "message_id": "m", "smtp_reply": "250 OK"}});
        assert_eq!(
            serde_json::from_value::<ShareRequestEvent>(delivered).unwrap(),
            ShareRequestEvent::Delivered { accepted_at: t(4), message_id: "m".into() }
        );
    }

    #[test]
    fn a_snapshot_stored_before_the_short_code_existed_loads_with_an_empty_one() {
        let mut stored = serde_json::to_value(snapshot(passport_and_tax())).unwrap();
        stored.as_object_mut().unwrap().remove("qr_short_code");
        let loaded: ShareSnapshot = serde_json::from_value(stored).unwrap();
        assert_eq!(loaded.qr_short_code, "");
    }
}
