//! The API described by itself: an OpenAPI 3.1 document generated from the handlers' own
//! annotations and types (utoipa), served at `/api/v1/openapi.json`, and Swagger UI at
//! `/api/v1/docs` from files the engine carries (`api/assets/swagger-ui`, vendored from npm's
//! swagger-ui-dist; ADR 0004): nothing is fetched from another host.
//!
//! Types that live in `domain` or `projections` are described in `crate::schemas`; the tests here
//! hold those descriptions to what the real types serialise.

use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{Modify, OpenApi, ToSchema};

use super::extract::ApiPath;
use super::problem::ApiError;
use crate::schemas::FileBytes;

/// The document: every route the router serves (`http::routes`), old and new.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Diia.QR engine",
        description = "Партнери приймають копії документів, якими громадяни діляться через Дію за QR-кодом. \
                       Помилки — RFC 9457 (`application/problem+json`), тексти українською.",
        license(name = "EUPL-1.2", identifier = "EUPL-1.2"),
    ),
    paths(
        super::sign_in::challenge,
        super::sign_in::sign_in,
        super::sign_in::sign_out,
        super::sign_in::operator_challenge,
        super::sign_in::operator_sign_in,
        super::moderation::queue,
        super::moderation::approve_branch,
        super::moderation::remove_branch,
        super::moderation::approve_service,
        super::moderation::remove_service,
        super::moderation::partners,
        super::operator::dev_partner_session,
        super::operator::dev_citizen_session,
        super::operator::dev_operator_session,
        super::partner::show,
        super::partner::register,
        super::partner::fill_profile,
        super::partner::offer,
        super::partner::accept_offer,
        super::partner::application,
        super::partner::sign_application,
        super::partner::application_pdf,
        super::partner::branches,
        super::partner::create_branch,
        super::partner::change_branch_email,
        super::partner::rename_branch,
        super::partner::rename_service,
        super::partner::services,
        super::partner::create_service,
        super::partner::current_qr,
        super::partner::issue_qr,
        super::partner::revoke_qr,
        super::partner::deactivate_service,
        super::partner::qr_svg,
        super::partner::qr_png,
        super::partner::poster_pdf,
        super::partner::poster_svg,
        super::partner::shares,
        super::partner::received_copies,
        super::partner::download_copy,
        super::cabinet::overview,
        super::cabinet::branch_details,
        super::cabinet::service_details,
        super::cabinet::share_details,
        super::search::search,
        super::audit::partner_export,
        super::audit::partner_history,
        super::citizen::scan,
        super::citizen::show,
        super::citizen::choose,
        super::citizen::verify_photo,
        super::citizen::dev_liveness_check,
        super::citizen::confirm,
        super::citizen::send,
        super::citizen::decline,
        super::citizen::history,
        super::operator::suspend_partner,
        super::operator::reinstate_partner,
        super::operator::projections,
        super::audit::operator_export,
        super::audit::operator_history,
        super::public::confirm_branch_email,
        super::public::ca_pem,
        super::public::seal_certificates_pem,
        super::public::qr_preview,
        super::public::qr_landing,
        super::public::short_link,
        super::verify::verify,
        super::verify::issued_copy,
        super::verify::page,
        super::verify::page_for_copy,
        super::audit::checkpoint,
        super::audit::inclusion_proof,
        super::audit::consistency_proof,
        super::operator::health,
        openapi_json,
        docs_page,
        docs_asset,
    ),
    components(schemas(Problem)),
    modifiers(&SignIns, &Problems),
    tags(
        (name = "development", description = "**Лише для розробки.** Вхід, що довіряє поданим даним: відповідає лише з `--dev-sign-in`, інакше 404."),
        (name = "partner", description = "Кабінет партнера: сесія керівника (КЕП)."),
        (name = "citizen", description = "Застосунок Дія: сесія громадянина."),
        (name = "operator", description = "Працівники сервісу."),
        (name = "public", description = "Без входу: підтвердження пошти, QR-посилання, перевірка копій, журнал аудиту."),
        (name = "documentation", description = "Цей опис і його сторінка."),
    )
)]
pub struct ApiDoc;

/// The bearer session of each kind of caller, one security scheme each.
struct SignIns;

impl Modify for SignIns {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        for (name, who) in [
            ("partner", "Сесія керівника партнера: вхід КЕП (POST /api/v1/partner/sign-in/challenge, тоді POST /api/v1/partner/sign-in)."),
            ("citizen", "Сесія громадянина з Дії (POST /api/v1/dev/citizen-sessions у розробці)."),
            (
                "operator",
                "Сесія оператора сервісу: вхід з КЕП (POST /api/v1/operator/sign-in; у розробці також POST /api/v1/dev/operator-sessions).",
            ),
        ] {
            let scheme = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some(who)).build();
            components.add_security_scheme(name, SecurityScheme::Http(scheme));
        }
    }
}

/// An RFC 9457 problem: how every error of this API answers, as `application/problem+json`.
/// (Described here; `http::problem` writes it.)
#[derive(ToSchema)]
pub struct Problem {
    /// `/problems/<code>`.
    #[schema(rename = "type", example = "/problems/share-not-found")]
    pub problem_type: String,
    #[schema(example = "Не знайдено")]
    pub title: String,
    #[schema(example = 404)]
    pub status: u16,
    /// What went wrong, in Ukrainian, for a person.
    #[schema(example = "такого отриманого запиту немає")]
    pub detail: String,
    /// The stable machine code.
    #[schema(example = "share-not-found")]
    pub code: String,
    /// Diia's own error code, where there is one.
    pub diia_code: Option<u32>,
}

/// The problem responses every operation may give, added where they apply: 401 to those that
/// need a session; 404 to those that name something (an id in the path, the query or the body);
/// 400 to those that take input; 422 to those that take input or run a rule for a session;
/// 409 and 410 to those that change something; 413/415 to those with a body; 429, 500 and 503 to
/// all. Schemathesis (`scripts/schemathesis`) checks that no answer falls outside them.
struct Problems;

const PROBLEMS: [(&str, &str, &str); 11] = [
    ("400", "BadRequest", "Запит не розібрано: неправильні параметри або JSON."),
    ("401", "Unauthorized", "Немає сесії потрібної ролі, або вона прострочена."),
    ("404", "NotFound", "Не знайдено: або такого немає, або воно не ваше (ніколи «заборонено»)."),
    ("409", "Conflict", "Суперечить поточному стану: уже зроблено, або стан змінився одночасно (повторіть)."),
    ("410", "Gone", "Більше не діє: строк минув або його відкликано."),
    ("413", "PayloadTooLarge", "Тіло запиту завелике (понад 256 КіБ)."),
    ("415", "UnsupportedMediaType", "Тіло має бути JSON із Content-Type: application/json."),
    ("422", "Unprocessable", "Дію не виконано: правило або значення параметра (пояснення в detail)."),
    ("429", "TooManyRequests", "Забагато запитів або спроб: зачекайте (Retry-After)."),
    ("500", "Internal", "Внутрішня помилка; її зафіксовано."),
    ("503", "Unavailable", "Сховище тимчасово недоступне."),
];

impl Modify for Problems {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        for (_, name, description) in PROBLEMS {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
            let response = ResponseBuilder::new().description(description).content("application/problem+json", content).build();
            components.responses.insert(name.to_string(), RefOr::T(response));
        }
        for (path, item) in doc.paths.paths.iter_mut() {
            let operations =
                [(false, &mut item.get), (true, &mut item.put), (true, &mut item.post), (true, &mut item.delete), (true, &mut item.patch)];
            for (changes, operation) in operations {
                if let Some(operation) = operation {
                    add_problems(path, changes, operation);
                }
            }
        }
    }
}

fn add_problems(path: &str, changes: bool, operation: &mut Operation) {
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let has_query = operation.parameters.iter().flatten().any(|p| p.parameter_in == utoipa::openapi::path::ParameterIn::Query);
    let has_body = operation.request_body.is_some();
    let documentation = operation.tags.iter().flatten().any(|t| t == "documentation");
    for (status, name, _) in PROBLEMS {
        let applies = match status {
            "400" => has_query || has_body || path.contains('{'),
            "422" => has_query || has_body || secured,
            "401" => secured,
            "404" => path.contains('{') || has_query || has_body,
            "409" | "410" => changes,
            "413" | "415" => has_body,
            _ => !documentation,
        };
        if applies {
            operation.responses.responses.entry(status.to_string()).or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
        }
    }
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "documentation", responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json")))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// What the docs page may load: its own files only.
const DOCS_POLICY: &str =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

/// Swagger UI over this document.
#[utoipa::path(get, path = "/api/v1/docs", tag = "documentation", responses((status = 200, description = "The page", content_type = "text/html")))]
pub async fn docs_page() -> Response {
    ([(header::CONTENT_SECURITY_POLICY, DOCS_POLICY)], Html(include_str!("docs.html"))).into_response()
}

/// The page's files, all carried by the engine.
const DOCS_FILES: [(&str, &str, &[u8]); 3] = [
    ("swagger-ui-bundle.js", "text/javascript; charset=utf-8", include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js")),
    ("swagger-ui.css", "text/css; charset=utf-8", include_bytes!("../../assets/swagger-ui/swagger-ui.css")),
    ("docs.js", "text/javascript; charset=utf-8", include_bytes!("docs.js")),
];

/// A file of the docs page: `swagger-ui-bundle.js`, `swagger-ui.css` or `docs.js`.
#[utoipa::path(
    get,
    path = "/api/v1/docs/{file}",
    tag = "documentation",
    params(("file" = String, Path, description = "`swagger-ui-bundle.js`, `swagger-ui.css` or `docs.js`")),
    responses((status = 200, description = "The file", body = FileBytes, content_type = "text/javascript"))
)]
pub async fn docs_asset(ApiPath(file): ApiPath<String>) -> Result<Response, ApiError> {
    let (_, content_type, bytes) = DOCS_FILES
        .iter()
        .find(|(name, _, _)| *name == file)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "docs-file-not-found", "такого файлу документації немає"))?;
    Ok(([(header::CONTENT_TYPE, *content_type), (header::CACHE_CONTROL, "public, max-age=3600")], *bytes).into_response())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::Utc;
    use serde::Serialize;
    use uuid::Uuid;

    use diia_qr_domain::documents::DocumentType;
    use diia_qr_domain::share_request::ShareStatus;

    use super::*;

    /// The property names of a component schema, as the document declares them.
    fn declared(name: &str) -> BTreeSet<String> {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let schema = &doc["components"]["schemas"][name];
        let properties = schema["properties"].as_object().unwrap_or_else(|| panic!("{name} is an object schema: {schema}"));
        properties.keys().cloned().collect()
    }

    fn serialised(value: impl Serialize) -> BTreeSet<String> {
        serde_json::to_value(value).unwrap().as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn the_mirrors_have_the_fields_the_rows_serialise() {
        use diia_qr_projections::views::cabinet::{BranchRow, ModerationRow, ServiceRow, ShareRow};
        use diia_qr_projections::views::moderation::{ModerationItem, PartnerOnRecord};
        let now = Utc::now();
        let id = Uuid::nil();
        let moderation = || ModerationRow { name_revision: 1, moderation: "pending".into(), moderation_reason: None };
        let branch = BranchRow {
            branch_id: id,
            name: String::new(),
            address: String::new(),
            email: String::new(),
            email_confirmed: true,
            moderation: moderation(),
        };
        assert_eq!(declared("BranchRow"), serialised(branch));
        let service = ServiceRow {
            service_id: id,
            branch_id: id,
            names: serde_json::json!([]),
            documents: serde_json::json!([]),
            retention_days: 1,
            qr_version: 1,
            qr_active: true,
            active: true,
            moderation: moderation(),
        };
        assert_eq!(declared("ServiceRow"), serialised(service));
        let share = ShareRow {
            share_request_id: id,
            branch_id: id,
            service_id: id,
            organisation_name: String::new(),
            branch_address: String::new(),
            purposes: serde_json::json!([]),
            documents: serde_json::json!([]),
            status: "sent".into(),
            opened_at: now,
            sent_at: None,
            delivered_at: None,
            failure_reason: None,
            erased_at: None,
            erased_reason: None,
        };
        assert_eq!(declared("ShareRow"), serialised(share));
        let item = ModerationItem {
            subject: "branch".into(),
            subject_id: id,
            partner_id: id,
            organisation_name: None,
            branch_id: id,
            branch_name: None,
            names: serde_json::json!([]),
            revision: 1,
            state: "pending".into(),
            submitted_at: None,
            decided_at: None,
            reason: None,
        };
        assert_eq!(declared("ModerationItem"), serialised(item));
        let partner = PartnerOnRecord {
            partner_id: id,
            organisation_name: String::new(),
            registry_code: String::new(),
            status: "active".into(),
            registered_at: now,
        };
        assert_eq!(declared("PartnerOnRecord"), serialised(partner));
    }

    #[test]
    fn the_mirrors_have_the_fields_the_reports_serialise() {
        use diia_qr_domain::documents::DocumentCandidate;
        use diia_qr_domain::share_request::DocumentChoice;
        use diia_qr_projections::history::{ConsentHistory, ConsentRecord, ShareAsOf, TimelineItem};
        use diia_qr_projections::log::{LogPosition, ProjectionStatus};
        use diia_qr_projections::verification::{CopyVerification, IssuedCopy, Verdict};
        let now = Utc::now();
        let id = Uuid::nil();
        let copy = IssuedCopy {
            copy_id: id,
            share_request_id: id,
            partner_id: id,
            organisation_name: String::new(),
            registry_code: None,
            branch_name: String::new(),
            branch_address: String::new(),
            purposes: serde_json::json!([]),
            document_type: "internal-passport".into(),
            made_at: now,
        };
        assert_eq!(declared("IssuedCopy"), serialised(&copy));
        let verification = CopyVerification {
            verdict: Verdict::Genuine,
            genuine: true,
            message: String::new(),
            signed_at: None,
            signed_at_kyiv: None,
            signer: None,
            copy: Some(copy),
            claimed_copy_id: Some(id),
            changes: vec![],
            warnings: vec![],
        };
        assert_eq!(declared("CopyVerification"), serialised(verification));
        let status = ProjectionStatus {
            name: String::new(),
            position: LogPosition::default(),
            lag_events: 0,
            lag_seconds: 0.0,
            updated_at: None,
            last_error: None,
            failed_global_id: None,
            failed_at: None,
            halted: false,
            rebuilt_at: None,
        };
        assert_eq!(declared("ProjectionStatus"), serialised(status));
        assert_eq!(declared("LogPosition"), serialised(LogPosition::default()));
        let consent =
            ConsentRecord { signed_at: now, statement_sha256: String::new(), signature_valid: true, signature_detail: String::new() };
        assert_eq!(declared("ConsentRecord"), serialised(&consent));
        let item = TimelineItem { at: now, event: String::new(), global_id: 1 };
        assert_eq!(declared("TimelineItem"), serialised(&item));
        let share = ShareAsOf {
            share_request_id: id,
            partner_id: id,
            organisation_name: String::new(),
            branch_name: String::new(),
            service_names: vec![],
            status: ShareStatus::Sent,
            timeline: vec![item],
            consent: Some(consent),
            documents_sent: vec![],
        };
        assert_eq!(declared("ShareAsOf"), serialised(&share));
        assert_eq!(declared("ConsentHistory"), serialised(ConsentHistory { as_of: now, shares: vec![share], events: 1 }));
        let candidate =
            DocumentCandidate { document_type: DocumentType::InternalPassport, document_id: String::new(), label: String::new() };
        assert_eq!(declared("DocumentCandidate"), serialised(candidate));
        let choice = DocumentChoice { document_type: DocumentType::InternalPassport, document_id: String::new() };
        assert_eq!(declared("DocumentChoice"), serialised(choice));
    }

    #[test]
    fn the_enums_list_the_values_the_domain_serialises() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let values = |name: &str| doc["components"]["schemas"][name]["enum"].clone();
        let codes: Vec<serde_json::Value> = DocumentType::ALL.iter().map(|t| serde_json::to_value(t).unwrap()).collect();
        assert_eq!(values("DocumentTypeCode"), serde_json::Value::Array(codes));
        for status in values("ShareStatusName").as_array().unwrap() {
            serde_json::from_value::<ShareStatus>(status.clone()).unwrap_or_else(|e| panic!("{status}: {e}"));
        }
        for status in values("PartnerStatusName").as_array().unwrap() {
            serde_json::from_value::<diia_qr_domain::partner::PartnerStatus>(status.clone()).unwrap_or_else(|e| panic!("{status}: {e}"));
        }
        use diia_qr_projections::verification::Verdict as V;
        let verdicts = [V::Genuine, V::Sealed, V::Altered, V::NotIssued, V::Invalid, V::Malformed, V::Unreadable, V::Revoked]
            .map(|v| serde_json::to_value(v).unwrap());
        assert_eq!(values("Verdict"), serde_json::Value::Array(verdicts.to_vec()));
        use diia_qr_projections::views::search::DeliveryState as D;
        let states = [D::Sent, D::Delivered, D::Failed].map(|d| serde_json::to_value(d).unwrap());
        assert_eq!(values("DeliveryStateName"), serde_json::Value::Array(states.to_vec()));
    }
}
