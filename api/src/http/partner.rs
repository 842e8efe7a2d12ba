//! The partner's side: onboarding, branches, services, QR codes and received shares.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use diia_qr_domain::branch::BranchAddress;
use diia_qr_domain::documents::DocumentType;
use diia_qr_domain::partner::PartnerStatus;
use diia_qr_domain::service::LegalBasis;
use diia_qr_projections::views::cabinet::{BranchRow, ServiceRow, ShareRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, ApiQuery, Session};
use super::openapi::Problem;
use super::problem::ApiError;
use super::{AppState, File};
use crate::app::offer::{offer_sha256, OFFER_TEXT, OFFER_VERSION};
use crate::app::sessions::PartnerRole;
use crate::app::{CurrentQr, NewService, QrLink};
use crate::schemas::{mirrors, FileBytes, PartnerStatusName};

type ApiResult<T> = Result<T, ApiError>;
type Partner = Session<PartnerRole>;

/// Shown where a partner's status is asked for.
fn status_uk(s: PartnerStatus) -> &'static str {
    match s {
        PartnerStatus::Unregistered => "не зареєстровано",
        PartnerStatus::Onboarding => "реєстрація триває",
        PartnerStatus::Active => "партнер",
        PartnerStatus::Suspended => "призупинено",
    }
}

#[derive(Serialize, ToSchema)]
pub struct PartnerView {
    partner_id: Uuid,
    organisation_name: String,
    registry_code: String,
    #[schema(value_type = PartnerStatusName)]
    status: PartnerStatus,
    status_uk: &'static str,
}

#[utoipa::path(
    get,
    operation_id = "show_partner",
    path = "/api/v1/partner",
    tag = "partner",
    security(("partner" = [])),
    responses((status = 200, description = "The partner signed in, and where it stands", body = PartnerView))
)]
pub async fn show(State(s): State<AppState>, Session(who): Partner) -> ApiResult<Json<PartnerView>> {
    let partner = s.engine.partner(&who).await?;
    Ok(Json(PartnerView {
        partner_id: who.partner_id(),
        registry_code: who.kind.registry_code().to_string(),
        organisation_name: who.organisation_name,
        status: partner.status(),
        status_uk: status_uk(partner.status()),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct PartnerRegistered {
    partner_id: Uuid,
}

#[utoipa::path(
    post,
    path = "/api/v1/partner/registration",
    tag = "partner",
    security(("partner" = [])),
    responses((status = 201, description = "Registered (or already was): the partner's id", body = PartnerRegistered))
)]
pub async fn register(State(s): State<AppState>, Session(who): Partner) -> ApiResult<(StatusCode, Json<PartnerRegistered>)> {
    let partner_id = s.engine.register_partner(&who).await?;
    Ok((StatusCode::CREATED, Json(PartnerRegistered { partner_id })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileBody {
    email: String,
    phone: String,
    passport: String,
}

#[utoipa::path(
    put,
    path = "/api/v1/partner/profile",
    tag = "partner",
    request_body = ProfileBody,
    security(("partner" = [])),
    responses((status = 204, description = "Profile saved"))
)]
pub async fn fill_profile(State(s): State<AppState>, Session(who): Partner, ApiJson(b): ApiJson<ProfileBody>) -> ApiResult<StatusCode> {
    s.engine.fill_profile(&who, &b.email, &b.phone, &b.passport).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct Offer {
    version: &'static str,
    sha256: String,
    text: &'static str,
}

#[utoipa::path(
    get,
    path = "/api/v1/partner/offer",
    tag = "partner",
    responses((status = 200, description = "The offer in force, with its SHA-256", body = Offer))
)]
pub async fn offer() -> Json<Offer> {
    Json(Offer { version: OFFER_VERSION, sha256: offer_sha256(), text: OFFER_TEXT })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferBody {
    version: String,
    sha256: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/partner/offer-acceptance",
    tag = "partner",
    request_body = OfferBody,
    security(("partner" = [])),
    responses((status = 204, description = "Offer accepted"))
)]
pub async fn accept_offer(State(s): State<AppState>, Session(who): Partner, ApiJson(b): ApiJson<OfferBody>) -> ApiResult<StatusCode> {
    s.engine.accept_offer(&who, &b.version, &b.sha256).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What the head is to sign.
#[derive(Serialize, ToSchema)]
pub struct AccessionApplication {
    /// Where the PDF is: sign exactly its bytes.
    pdf_path: &'static str,
    /// SHA-256 of the PDF, hex.
    pdf_sha256: String,
    offer_version: &'static str,
    offer_sha256: String,
}

#[utoipa::path(
    get,
    path = "/api/v1/partner/accession-application",
    tag = "partner",
    security(("partner" = [])),
    responses((status = 200, description = "The application to sign: where its PDF is, and its digest", body = AccessionApplication))
)]
pub async fn application(State(s): State<AppState>, Session(who): Partner) -> ApiResult<Json<AccessionApplication>> {
    let pdf = s.engine.accession_application_pdf(&who).await?;
    Ok(Json(AccessionApplication {
        pdf_path: "/api/v1/partner/accession-application.pdf",
        pdf_sha256: diia_qr_projections::digest::sha256_hex(&pdf),
        offer_version: OFFER_VERSION,
        offer_sha256: offer_sha256(),
    }))
}

#[utoipa::path(
    get,
    path = "/api/v1/partner/accession-application.pdf",
    tag = "partner",
    security(("partner" = [])),
    responses((status = 200, description = "The accession application to sign with the head's КЕП (a detached CMS signature over these bytes)", body = FileBytes, content_type = "application/pdf"))
)]
pub async fn application_pdf(State(s): State<AppState>, Session(who): Partner) -> ApiResult<File> {
    let bytes = s.engine.accession_application_pdf(&who).await?;
    Ok(File(crate::app::Rendered { content_type: "application/pdf", bytes }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignedApplicationBody {
    /// A detached CMS SignedData (DER, base64) over the PDF's exact bytes, by the head's КЕП.
    signature_base64: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/partner/accession-application",
    tag = "partner",
    security(("partner" = [])),
    request_body = SignedApplicationBody,
    responses((status = 204, description = "Signed: the partner is active; the PDF and the signature are kept in the log"))
)]
pub async fn sign_application(
    State(s): State<AppState>,
    Session(who): Partner,
    ApiJson(b): ApiJson<SignedApplicationBody>,
) -> ApiResult<StatusCode> {
    s.engine.sign_accession_application(&who, &b.signature_base64).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The address as typed; unknown fields are refused here, where the input is untrusted.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressBody {
    region: String,
    #[serde(default)]
    district: Option<String>,
    locality: String,
    street: String,
    house: String,
}

impl From<AddressBody> for BranchAddress {
    fn from(a: AddressBody) -> Self {
        Self { region: a.region, district: a.district, locality: a.locality, street: a.street, house: a.house }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BranchBody {
    name: String,
    address: AddressBody,
    email: String,
}

#[derive(Serialize, ToSchema)]
pub struct BranchCreated {
    branch_id: Uuid,
    email_confirmation: &'static str,
}

#[utoipa::path(
    post,
    path = "/api/v1/partner/branches",
    tag = "partner",
    request_body = BranchBody,
    security(("partner" = [])),
    responses((status = 201, description = "Created; a confirmation code went to the mailbox", body = BranchCreated))
)]
pub async fn create_branch(
    State(s): State<AppState>,
    Session(who): Partner,
    ApiJson(b): ApiJson<BranchBody>,
) -> ApiResult<(StatusCode, Json<BranchCreated>)> {
    let branch_id = s.engine.create_branch(&who, &b.name, b.address.into(), &b.email).await?;
    Ok((
        StatusCode::CREATED,
        Json(BranchCreated {
            branch_id, email_confirmation: "код підтвердження надіслано на вказану пошту"
        }),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct Branches {
    #[schema(value_type = Vec<mirrors::BranchRow>)]
    branches: Vec<BranchRow>,
}

#[utoipa::path(
    get,
    path = "/api/v1/partner/branches",
    tag = "partner",
    security(("partner" = [])),
    responses((status = 200, description = "The partner's branches", body = Branches))
)]
pub async fn branches(State(s): State<AppState>, Session(who): Partner) -> ApiResult<Json<Branches>> {
    Ok(Json(Branches { branches: s.engine.branches_of(&who).await? }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailBody {
    email: String,
}

#[utoipa::path(
    put,
    path = "/api/v1/partner/branches/{branch_id}/email",
    tag = "partner",
    params(("branch_id" = Uuid, Path, description = "The branch")),
    request_body = EmailBody,
    security(("partner" = [])),
    responses((status = 202, description = "A code went to the new mailbox; copies wait for its confirmation"))
)]
pub async fn change_branch_email(
    State(s): State<AppState>,
    Session(who): Partner,
    ApiPath(branch_id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<EmailBody>,
) -> ApiResult<StatusCode> {
    s.engine.change_branch_email(&who, branch_id, &b.email).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BranchNameBody {
    /// The new name, as citizens will read it when they confirm.
    name: String,
}

#[utoipa::path(
    put,
    path = "/api/v1/partner/branches/{branch_id}/name",
    tag = "partner",
    params(("branch_id" = Uuid, Path, description = "The branch")),
    request_body = BranchNameBody,
    security(("partner" = [])),
    responses(
        (status = 204, description = "Renamed: the new name serves at once and waits for moderation"),
        (status = 422, description = "The name breaks a rule (a forbidden name is quoted)", body = super::openapi::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn rename_branch(
    State(s): State<AppState>,
    Session(who): Partner,
    ApiPath(branch_id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<BranchNameBody>,
) -> ApiResult<StatusCode> {
    s.engine.rename_branch(&who, branch_id, &b.name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceNamesBody {
    /// One or more purposes, separated by commas, each beginning with «для».
    names: String,
}

#[utoipa::path(
    put,
    path = "/api/v1/partner/services/{service_id}/names",
    tag = "partner",
    params(("service_id" = Uuid, Path, description = "The service")),
    request_body = ServiceNamesBody,
    security(("partner" = [])),
    responses(
        (status = 204, description = "Renamed: the new names serve at once and wait for moderation"),
        (status = 422, description = "A name breaks a rule", body = super::openapi::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn rename_service(
    State(s): State<AppState>,
    Session(who): Partner,
    ApiPath(service_id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<ServiceNamesBody>,
) -> ApiResult<StatusCode> {
    s.engine.rename_service(&who, service_id, &b.names).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceBody {
    branch_id: Uuid,
    /// One or more purposes separated by commas.
    names: String,
    documents: Vec<String>,
    legal_basis: LegalBasisBody,
    retention_days: u32,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LegalBasisBody {
    acknowledged: bool,
    statement: String,
}

#[derive(Serialize, ToSchema)]
pub struct ServiceCreated {
    service_id: Uuid,
}

pub(super) fn document_type(code: &str) -> Result<DocumentType, ApiError> {
    DocumentType::from_code(code).ok_or_else(|| {
        let known = DocumentType::ALL.map(|t| t.code()).join(", ");
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "document-type-unknown",
            format!("невідомий тип документа «{code}»; можливі: {known}"),
        )
    })
}

#[utoipa::path(
    post,
    path = "/api/v1/partner/services",
    tag = "partner",
    request_body = ServiceBody,
    security(("partner" = [])),
    responses((status = 201, description = "Created", body = ServiceCreated))
)]
pub async fn create_service(
    State(s): State<AppState>,
    Session(who): Partner,
    ApiJson(b): ApiJson<ServiceBody>,
) -> ApiResult<(StatusCode, Json<ServiceCreated>)> {
    let service = NewService {
        branch_id: b.branch_id,
        names: b.names,
        documents: b.documents.iter().map(|code| document_type(code)).collect::<Result<_, _>>()?,
        legal_basis: LegalBasis { acknowledged: b.legal_basis.acknowledged, statement: b.legal_basis.statement },
        retention_days: b.retention_days,
    };
    let service_id = s.engine.create_service(&who, service).await?;
    Ok((StatusCode::CREATED, Json(ServiceCreated { service_id })))
}

#[derive(Serialize, ToSchema)]
pub struct Services {
    #[schema(value_type = Vec<mirrors::ServiceRow>)]
    services: Vec<ServiceRow>,
}

#[utoipa::path(
    get,
    path = "/api/v1/partner/services",
    tag = "partner",
    security(("partner" = [])),
    responses((status = 200, description = "The partner's services", body = Services))
)]
pub async fn services(State(s): State<AppState>, Session(who): Partner) -> ApiResult<Json<Services>> {
    Ok(Json(Services { services: s.engine.services_of(&who).await? }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/partner/services/{service_id}",
    tag = "partner",
    params(("service_id" = Uuid, Path, description = "The service")),
    security(("partner" = [])),
    responses((status = 204, description = "Deactivated, its QR with it"))
)]
pub async fn deactivate_service(
    State(s): State<AppState>,
    Session(who): Partner,
    ApiPath(service_id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    s.engine.deactivate_service(&who, service_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/v1/partner/services/{service_id}/qr",
    tag = "partner",
    params(("service_id" = Uuid, Path, description = "The service")),
    security(("partner" = [])),
    responses((status = 201, description = "Issued (or rotated: the previous link stops working)", body = QrLink))
)]
pub async fn issue_qr(
    State(s): State<AppState>,
    Session(who): Partner,
    ApiPath(service_id): ApiPath<Uuid>,
) -> ApiResult<(StatusCode, Json<QrLink>)> {
    Ok((StatusCode::CREATED, Json(s.engine.issue_qr(&who, service_id).await?)))
}

#[utoipa::path(
    get,
    path = "/api/v1/partner/services/{service_id}/qr",
    tag = "partner",
    params(("service_id" = Uuid, Path, description = "The service")),
    security(("partner" = [])),
    responses((status = 200, description = "The current QR and its refused scans by reason", body = CurrentQr))
)]
pub async fn current_qr(
    State(s): State<AppState>,
    Session(who): Partner,
    ApiPath(service_id): ApiPath<Uuid>,
) -> ApiResult<Json<CurrentQr>> {
    Ok(Json(s.engine.current_qr_with_refusals(&who, service_id).await?))
}

#[utoipa::path(
    delete,
    path = "/api/v1/partner/services/{service_id}/qr",
    tag = "partner",
    params(("service_id" = Uuid, Path, description = "The service")),
    security(("partner" = [])),
    responses((status = 204, description = "Revoked"))
)]
pub async fn revoke_qr(State(s): State<AppState>, Session(who): Partner, ApiPath(service_id): ApiPath<Uuid>) -> ApiResult<StatusCode> {
    s.engine.revoke_qr(&who, service_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/partner/services/{service_id}/qr.svg",
    tag = "partner",
    params(("service_id" = Uuid, Path, description = "The service")),
    security(("partner" = [])),
    responses((status = 200, description = "The QR as SVG", body = FileBytes, content_type = "image/svg+xml"))
)]
pub async fn qr_svg(State(s): State<AppState>, Session(who): Partner, ApiPath(service_id): ApiPath<Uuid>) -> ApiResult<File> {
    Ok(File(s.engine.qr_svg(&who, service_id).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ScaleQuery {
    /// Pixels per module, 1 to 40 (10 by default).
    scale: Option<usize>,
}

/// The QR alone as PNG; `?scale=` pixels per module (default 10).
#[utoipa::path(
    get,
    path = "/api/v1/partner/services/{service_id}/qr.png",
    tag = "partner",
    params(("service_id" = Uuid, Path, description = "The service"), ScaleQuery),
    security(("partner" = [])),
    responses((status = 200, description = "The QR as PNG", body = FileBytes, content_type = "image/png"))
)]
pub async fn qr_png(
    State(s): State<AppState>,
    Session(who): Partner,
    ApiPath(service_id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<ScaleQuery>,
) -> ApiResult<File> {
    Ok(File(s.engine.qr_png(&who, service_id, q.scale.unwrap_or(10)).await?))
}

/// The A4 poster as PDF.
#[utoipa::path(
    get,
    path = "/api/v1/partner/services/{service_id}/poster.pdf",
    tag = "partner",
    params(("service_id" = Uuid, Path, description = "The service")),
    security(("partner" = [])),
    responses((status = 200, description = "The A4 poster as PDF", body = FileBytes, content_type = "application/pdf"))
)]
pub async fn poster_pdf(State(s): State<AppState>, Session(who): Partner, ApiPath(service_id): ApiPath<Uuid>) -> ApiResult<File> {
    Ok(File(s.engine.poster_pdf(&who, service_id).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/partner/services/{service_id}/poster.svg",
    tag = "partner",
    params(("service_id" = Uuid, Path, description = "The service")),
    security(("partner" = [])),
    responses((status = 200, description = "The A4 poster as SVG", body = FileBytes, content_type = "image/svg+xml"))
)]
pub async fn poster_svg(State(s): State<AppState>, Session(who): Partner, ApiPath(service_id): ApiPath<Uuid>) -> ApiResult<File> {
    Ok(File(s.engine.poster_svg(&who, service_id).await?))
}

#[derive(Serialize, ToSchema)]
pub struct SharesReceived {
    #[schema(value_type = Vec<mirrors::ShareRow>)]
    shares: Vec<ShareRow>,
}

#[utoipa::path(
    get,
    path = "/api/v1/partner/shares",
    tag = "partner",
    security(("partner" = [])),
    responses((status = 200, description = "The latest 200 share requests, newest first", body = SharesReceived))
)]
pub async fn shares(State(s): State<AppState>, Session(who): Partner) -> ApiResult<Json<SharesReceived>> {
    Ok(Json(SharesReceived { shares: s.engine.shares_received(&who).await? }))
}

#[derive(Serialize, ToSchema)]
pub struct ReceivedCopies {
    copies: Vec<crate::app::copies::ReceivedCopy>,
}

/// The copies a received share holds, to download again.
#[utoipa::path(
    get,
    path = "/api/v1/partner/shares/{id}/copies",
    tag = "partner",
    params(("id" = Uuid, Path, description = "The share request")),
    security(("partner" = [])),
    responses((status = 200, description = "The copies the share sent", body = ReceivedCopies))
)]
pub async fn received_copies(
    State(s): State<AppState>,
    Session(who): Partner,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ReceivedCopies>> {
    Ok(Json(ReceivedCopies { copies: s.engine.received_copies(&who, id).await? }))
}

/// `{copy_id}.pdf` or `{copy_id}.p7s`: the copy as mailed, or its seal.
#[utoipa::path(
    get,
    path = "/api/v1/partner/shares/{id}/copies/{file}",
    tag = "partner",
    params(
        ("id" = Uuid, Path, description = "The share request"),
        ("file" = String, Path, description = "`{copy_id}.pdf` (the copy) or `{copy_id}.p7s` (its detached CMS seal)")
    ),
    security(("partner" = [])),
    responses(
        (status = 200, description = "The copy as mailed, or its seal", content(
            (FileBytes = "application/pdf"),
            (FileBytes = "application/pkcs7-signature")
        )),
        (status = 410, description = "The share's personal data was erased", body = Problem, content_type = "application/problem+json")
    )
)]
pub async fn download_copy(
    State(s): State<AppState>,
    Session(who): Partner,
    ApiPath((id, file)): ApiPath<(Uuid, String)>,
) -> Result<File, ApiError> {
    use crate::app::copies::CopyPart;
    let not_found =
        || ApiError::new(StatusCode::NOT_FOUND, "copy-not-found", "такої копії немає: очікується «ідентифікатор.pdf» або «.p7s»");
    let (copy, part) = match file.rsplit_once('.') {
        Some((copy, "pdf")) => (copy, CopyPart::Pdf),
        Some((copy, "p7s")) => (copy, CopyPart::Signature),
        _ => return Err(not_found()),
    };
    let copy: Uuid = copy.parse().map_err(|_| not_found())?;
    Ok(File(s.engine.download_copy(&who, id, copy, part).await?))
}
