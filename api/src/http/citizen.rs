//! The citizen's side, as the Diia app calls it: scan, choose, photo verification, consent with
//! Diia.Signature, send, and the sharing history.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use base64::prelude::{Engine as _, BASE64_STANDARD};
use diia_qr_domain::share_request::{DocumentChoice, ShareRequest, ShareStatus};
use diia_qr_projections::cabinet;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, CitizenSession};
use super::problem::ApiError;
use super::AppState;

type ApiResult<T> = Result<T, ApiError>;

/// What the app shows for a request: who asks, for what, which documents, what is left to do.
fn view(id: Uuid, share: &ShareRequest) -> Value {
    let snapshot = share.snapshot();
    json!({
        "share_request_id": id,
        "status": share.status(),
        "history_label": share.status().history_label_uk(),
        "organisation_name": snapshot.map(|s| s.organisation_name.as_str()),
        "branch_name": snapshot.map(|s| s.branch_name.as_str()),
        "branch_address": snapshot.map(|s| s.branch_address.as_str()),
        "purposes": snapshot.map(|s| s.service_names.clone()),
        "retention_days": snapshot.map(|s| s.retention_days),
        "qr_short_code": snapshot.map(|s| crate::engine::display_short_code(&s.qr_short_code)),
        "documents": snapshot.map(|s| s.documents.iter().map(|d| json!({ "type": d, "title": d.title_uk() })).collect::<Vec<_>>()),
        "candidates": share.candidates(),
        "choice_needed": share.unchosen(),
        "expires_at": share.expires_at(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanBody {
    /// The scanned link, or the token alone.
    link: String,
}

pub async fn scan(
    State(s): State<AppState>,
    CitizenSession(who): CitizenSession,
    ApiJson(b): ApiJson<ScanBody>,
) -> ApiResult<impl IntoResponse> {
    let id = s.engine.scan(&who, &b.link).await?;
    let share = s.engine.share_request(&who, id).await?;
    Ok((StatusCode::CREATED, Json(view(id, &share))))
}

pub async fn show(State(s): State<AppState>, CitizenSession(who): CitizenSession, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Json<Value>> {
    let share = s.engine.share_request(&who, id).await?;
    Ok(Json(view(id, &share)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceBody {
    choices: Vec<DocumentChoice>,
}

pub async fn choose(
    State(s): State<AppState>,
    CitizenSession(who): CitizenSession,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<ChoiceBody>,
) -> ApiResult<Json<Value>> {
    s.engine.choose_documents(&who, id, b.choices).await?;
    show(State(s), CitizenSession(who), ApiPath(id)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhotoBody {
    /// The selfie, base64.
    photo_base64: String,
}

pub async fn verify_photo(
    State(s): State<AppState>,
    CitizenSession(who): CitizenSession,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<PhotoBody>,
) -> ApiResult<Json<Value>> {
    let photo = BASE64_STANDARD
        .decode(b.photo_base64.trim())
        .map_err(|_| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "photo-not-base64", "фото має бути в base64"))?;
    s.engine.verify_photo(&who, id, photo).await?;
    show(State(s), CitizenSession(who), ApiPath(id)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmBody {
    /// The Diia.Signature code.
    code: String,
}

pub async fn confirm(
    State(s): State<AppState>,
    CitizenSession(who): CitizenSession,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(b): ApiJson<ConfirmBody>,
) -> ApiResult<Json<Value>> {
    s.engine.confirm(&who, id, &b.code).await?;
    show(State(s), CitizenSession(who), ApiPath(id)).await
}

pub async fn send(State(s): State<AppState>, CitizenSession(who): CitizenSession, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Json<Value>> {
    s.engine.send(&who, id).await?;
    show(State(s), CitizenSession(who), ApiPath(id)).await
}

pub async fn decline(State(s): State<AppState>, CitizenSession(who): CitizenSession, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Json<Value>> {
    s.engine.decline(&who, id).await?;
    show(State(s), CitizenSession(who), ApiPath(id)).await
}

pub async fn history(State(s): State<AppState>, CitizenSession(who): CitizenSession) -> ApiResult<Json<Value>> {
    let rows = cabinet::history_of(&s.engine.pool, who.as_str(), 200).await.map_err(crate::engine::EngineError::from)?;
    let items: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            let label = serde_json::from_value::<ShareStatus>(json!(r.status)).map_or("В обробці", |s| s.history_label_uk());
            json!({ "label": label, "share": r })
        })
        .collect();
    Ok(Json(json!({ "history": items })))
}
