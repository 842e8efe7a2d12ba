//! OpenAPI schemas of the types the API shows but does not own: `domain` stays free of utoipa,
//! and the projections' rows are described by mirrors whose fields a test in `http::openapi`
//! compares with what the real rows serialise. Used by the application layer's response types
//! and by the handlers alike.

use diia_qr_domain::documents::DocumentType;
use diia_qr_domain::share_request::ShareStatus;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// A value of `DocumentType`, as its code: the list is the domain's own.
pub struct DocumentTypeCode;

impl PartialSchema for DocumentTypeCode {
    fn schema() -> RefOr<Schema> {
        string_enum("Тип документа (код Дії).", DocumentType::ALL.iter().map(|t| t.code()))
    }
}
impl ToSchema for DocumentTypeCode {}

/// A value of `ShareStatus`, as it serialises.
pub struct ShareStatusName;

impl PartialSchema for ShareStatusName {
    fn schema() -> RefOr<Schema> {
        // Listed by an exhaustive match: a new status does not compile until it is described.
        let name = |s: ShareStatus| match s {
            ShareStatus::New => "new",
            ShareStatus::Opened => "opened",
            ShareStatus::PhotoVerified => "photo_verified",
            ShareStatus::Consented => "consented",
            ShareStatus::Sent => "sent",
            ShareStatus::Delivered => "delivered",
            ShareStatus::DeliveryFailed => "delivery_failed",
            ShareStatus::Declined => "declined",
            ShareStatus::Expired => "expired",
        };
        let all = [
            ShareStatus::New,
            ShareStatus::Opened,
            ShareStatus::PhotoVerified,
            ShareStatus::Consented,
            ShareStatus::Sent,
            ShareStatus::Delivered,
            ShareStatus::DeliveryFailed,
            ShareStatus::Declined,
            ShareStatus::Expired,
        ];
        string_enum("Стан запиту на поширення.", all.map(name))
    }
}
impl ToSchema for ShareStatusName {}

/// A value of `PartnerStatus`, as it serialises.
pub struct PartnerStatusName;

impl PartialSchema for PartnerStatusName {
    fn schema() -> RefOr<Schema> {
        use diia_qr_domain::partner::PartnerStatus as S;
        let name = |s: S| match s {
            S::Unregistered => "unregistered",
            S::Onboarding => "onboarding",
            S::Active => "active",
            S::Suspended => "suspended",
        };
        string_enum("Стан партнера.", [S::Unregistered, S::Onboarding, S::Active, S::Suspended].map(name))
    }
}
impl ToSchema for PartnerStatusName {}

/// How a received copy's mail went (the search index's `delivery`).
pub struct DeliveryStateName;

impl PartialSchema for DeliveryStateName {
    fn schema() -> RefOr<Schema> {
        string_enum("Доставка копії: надіслано, доставлено, відмовлено.", ["sent", "delivered", "failed"])
    }
}
impl ToSchema for DeliveryStateName {}

fn string_enum<'a>(description: &str, values: impl IntoIterator<Item = &'a str>) -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::String).description(Some(description)).enum_values(Some(values)).into()
}

/// A file's bytes; the response's media type says what it is.
pub struct FileBytes;

impl PartialSchema for FileBytes {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::String).content_media_type("application/octet-stream").into()
    }
}
impl ToSchema for FileBytes {}

/// Mirrors of the rows and reports `projections` returns, as they serialise (a test compares
/// each mirror's fields with a real value's).
pub mod mirrors {
    use chrono::{DateTime, Utc};
    use utoipa::ToSchema;
    use uuid::Uuid;

    use super::{DocumentTypeCode, ShareStatusName};

    /// A branch as the cabinet lists it.
    #[derive(ToSchema)]
    pub struct BranchRow {
        pub branch_id: Uuid,
        pub name: String,
        pub address: String,
        /// The confirmed mailbox, or the one awaiting confirmation.
        pub email: String,
        pub email_confirmed: bool,
        /// The current revision of the name.
        pub name_revision: i32,
        /// `pending` (serving, not yet reviewed), `approved` or `removed`.
        pub moderation: String,
        /// The operator's reason, for a removal.
        pub moderation_reason: Option<String>,
    }

    /// A service as the cabinet lists it.
    #[derive(ToSchema)]
    pub struct ServiceRow {
        pub service_id: Uuid,
        pub branch_id: Uuid,
        pub names: Vec<String>,
        #[schema(value_type = Vec<DocumentTypeCode>)]
        pub documents: Vec<String>,
        pub retention_days: i32,
        pub qr_version: i32,
        pub qr_active: bool,
        pub active: bool,
        /// The current revision of the names.
        pub name_revision: i32,
        /// `pending` (serving, not yet reviewed), `approved` or `removed`.
        pub moderation: String,
        /// The operator's reason, for a removal.
        pub moderation_reason: Option<String>,
    }

    /// A name under moderation: a branch's name or a service's names, at its current revision.
    #[derive(ToSchema)]
    pub struct ModerationItem {
        /// `branch` or `service`.
        pub subject: String,
        /// The branch's or the service's id.
        pub subject_id: Uuid,
        pub partner_id: Uuid,
        pub organisation_name: Option<String>,
        /// The branch the name belongs to, or that the service is attached to.
        pub branch_id: Uuid,
        pub branch_name: Option<String>,
        /// As citizens read them: one for a branch, one or more for a service.
        pub names: Vec<String>,
        /// The revision a decision must name.
        pub revision: i32,
        /// `pending`, `approved` or `removed`.
        pub state: String,
        pub submitted_at: Option<DateTime<Utc>>,
        pub decided_at: Option<DateTime<Utc>>,
        /// The operator's reason, for a removal.
        pub reason: Option<String>,
    }

    /// A partner as operators see it.
    #[derive(ToSchema)]
    pub struct PartnerOnRecord {
        pub partner_id: Uuid,
        pub organisation_name: String,
        /// ЄДРПОУ, or the sole proprietor's РНОКПП.
        pub registry_code: String,
        /// `onboarding`, `active` or `suspended`.
        pub status: String,
        pub registered_at: DateTime<Utc>,
    }

    /// A share request as the cabinet and the citizen's history list it.
    #[derive(ToSchema)]
    pub struct ShareRow {
        pub share_request_id: Uuid,
        pub branch_id: Uuid,
        pub service_id: Uuid,
        pub organisation_name: String,
        pub branch_address: String,
        pub purposes: Vec<String>,
        #[schema(value_type = Vec<DocumentTypeCode>)]
        pub documents: Vec<String>,
        #[schema(value_type = ShareStatusName)]
        pub status: String,
        pub opened_at: DateTime<Utc>,
        pub sent_at: Option<DateTime<Utc>>,
        pub delivered_at: Option<DateTime<Utc>>,
        pub failure_reason: Option<String>,
        pub erased_at: Option<DateTime<Utc>>,
        pub erased_reason: Option<String>,
    }

    /// A copy the engine issued, as the verification answers about it.
    #[derive(ToSchema)]
    pub struct IssuedCopy {
        pub copy_id: Uuid,
        pub organisation_name: String,
        /// ЄДРПОУ of the addressee; null for a sole proprietor (its code is a РНОКПП).
        pub registry_code: Option<String>,
        pub branch_name: String,
        pub branch_address: String,
        pub purposes: Vec<String>,
        #[schema(value_type = DocumentTypeCode)]
        pub document_type: String,
        pub made_at: DateTime<Utc>,
    }

    /// The verdict on a presented copy.
    #[derive(ToSchema)]
    pub enum Verdict {
        #[schema(rename = "genuine")]
        Genuine,
        #[schema(rename = "sealed")]
        Sealed,
        #[schema(rename = "altered")]
        Altered,
        #[schema(rename = "not_issued")]
        NotIssued,
        #[schema(rename = "invalid")]
        Invalid,
        #[schema(rename = "malformed")]
        Malformed,
        #[schema(rename = "unreadable")]
        Unreadable,
        #[schema(rename = "revoked")]
        Revoked,
    }

    #[derive(ToSchema)]
    pub struct CopyVerification {
        pub verdict: Verdict,
        pub genuine: bool,
        /// One sentence for a person, in Ukrainian.
        pub message: String,
        pub signed_at: Option<DateTime<Utc>>,
        pub signed_at_kyiv: Option<String>,
        pub signer: Option<String>,
        pub copy: Option<IssuedCopy>,
        /// The copy id the PDF carries (XMP or trailer), whether or not it was issued.
        pub claimed_copy_id: Option<Uuid>,
        /// What differs from the issued copy, for an altered one.
        pub changes: Vec<String>,
        pub warnings: Vec<String>,
    }

    /// A place in the event log.
    #[derive(ToSchema)]
    pub struct LogPosition {
        pub tx_id: i64,
        pub global_id: i64,
    }

    /// A projection's position, lag and last error.
    #[derive(ToSchema)]
    pub struct ProjectionStatus {
        pub name: String,
        pub position: LogPosition,
        pub lag_events: i64,
        pub lag_seconds: f64,
        pub updated_at: Option<DateTime<Utc>>,
        pub last_error: Option<String>,
        pub failed_global_id: Option<i64>,
        pub failed_at: Option<DateTime<Utc>>,
        pub halted: bool,
        pub rebuilt_at: Option<DateTime<Utc>>,
    }

    /// A subject's consent history, replayed from the log as of a moment.
    #[derive(ToSchema)]
    pub struct ConsentHistory {
        pub as_of: DateTime<Utc>,
        pub shares: Vec<ShareAsOf>,
        /// Events replayed.
        pub events: u64,
    }

    #[derive(ToSchema)]
    pub struct ShareAsOf {
        pub share_request_id: Uuid,
        pub partner_id: Uuid,
        pub organisation_name: String,
        pub branch_name: String,
        pub service_names: Vec<String>,
        #[schema(value_type = ShareStatusName)]
        pub status: String,
        pub timeline: Vec<TimelineItem>,
        pub consent: Option<ConsentRecord>,
        #[schema(value_type = Vec<DocumentTypeCode>)]
        pub documents_sent: Vec<String>,
    }

    #[derive(ToSchema)]
    pub struct TimelineItem {
        pub at: DateTime<Utc>,
        /// The event's type, e.g. `ShareRequestSent`.
        pub event: String,
        pub global_id: i64,
    }

    #[derive(ToSchema)]
    pub struct ConsentRecord {
        pub signed_at: DateTime<Utc>,
        pub statement_sha256: String,
        pub signature_valid: bool,
        pub signature_detail: String,
    }

    /// A document the citizen may choose for a requested type.
    #[derive(ToSchema)]
    pub struct DocumentCandidate {
        #[schema(value_type = DocumentTypeCode)]
        pub document_type: String,
        pub document_id: String,
        pub label: String,
    }

    /// The citizen's choice of a document for a requested type.
    #[derive(ToSchema)]
    pub struct DocumentChoice {
        #[schema(value_type = DocumentTypeCode)]
        pub document_type: String,
        pub document_id: String,
    }
}
