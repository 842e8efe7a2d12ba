//! The authorization matrix: every endpoint of the OpenAPI document, called by the owner of the
//! data it names, another partner, the citizen, another citizen, an anonymous caller and an
//! operator. A partner acts only on its own partner, branches, services and shares (another
//! partner's id answers exactly as an id that does not exist); citizens only on their own
//! requests; operators moderate; public endpoints answer everyone alike.

use std::collections::BTreeSet;

use diia_qr_tests::{citizens, spawn_app, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Owner,
    OtherPartner,
    Citizen,
    OtherCitizen,
    Anonymous,
    Operator,
}

const CALLERS: [Caller; 6] =
    [Caller::Owner, Caller::OtherPartner, Caller::Citizen, Caller::OtherCitizen, Caller::Anonymous, Caller::Operator];

/// Who owns what an endpoint names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Door {
    Partner,
    Citizen,
    Operator,
    /// Anyone, alike.
    Public,
    /// Any session (sign-out).
    AnySession,
}

/// The endpoints anyone may call. A new unauthenticated endpoint must be added here on purpose.
const PUBLIC: &[&str] = &[
    "/api/v1/partner/sign-in/challenge",
    "/api/v1/partner/sign-in",
    "/api/v1/partner/offer",
    "/api/v1/operator/sign-in/challenge",
    "/api/v1/operator/sign-in",
    "/api/v1/dev/partner-sessions",
    "/api/v1/dev/citizen-sessions",
    "/api/v1/dev/operator-sessions",
    "/api/v1/branch-email-confirmations",
    "/api/v1/ca.pem",
    "/api/v1/seal-certificates.pem",
    "/api/v1/copies/verification",
    "/api/v1/copies/{copy_id}",
    "/verify",
    "/verify/{copy_id}",
    "/api/v1/qr-preview",
    "/qr/v1/{token}",
    "/q/{code}",
    "/api/v1/audit/checkpoint",
    "/api/v1/audit/proofs/inclusion",
    "/api/v1/audit/proofs/consistency",
    "/health",
    "/api/v1/openapi.json",
    "/api/v1/docs",
    "/api/v1/docs/{file}",
];

/// The HTTP edge rate-limits by client address exactly the endpoints that need no session.
#[test]
fn the_edge_limits_every_public_endpoint_by_client() {
    let mut limited: Vec<&str> = diia_qr::http::edge::unauthenticated_routes().collect();
    let mut public = PUBLIC.to_vec();
    limited.sort_unstable();
    public.sort_unstable();
    assert_eq!(limited, public);
}

fn door_of(path: &str) -> Door {
    if PUBLIC.contains(&path) {
        Door::Public
    } else if path == "/api/v1/session" {
        Door::AnySession
    } else if path.starts_with("/api/v1/partner") {
        Door::Partner
    } else if path.starts_with("/api/v1/citizen/") || path == "/api/v1/dev/liveness-checks" {
        Door::Citizen
    } else if path.starts_with("/api/v1/operator/") {
        Door::Operator
    } else {
        panic!("{path}: which door is it? Add it to PUBLIC or give it a session")
    }
}

/// The ids an endpoint's path and body name: the owner's, or ones that do not exist.
#[derive(Clone)]
struct Ids {
    partner_id: String,
    branch_id: String,
    service_id: String,
    share_id: String,
    copy_id: String,
}

impl Ids {
    fn unknown() -> Self {
        let id = || Uuid::new_v4().to_string();
        Self { partner_id: id(), branch_id: id(), service_id: id(), share_id: id(), copy_id: id() }
    }
}

struct World {
    ids: Ids,
    qr_token: String,
    short_code: String,
    tokens: Vec<(Caller, String)>,
    /// What another partner or citizen must never be shown.
    secrets: Vec<String>,
}

fn concrete(path: &str, ids: &Ids, world: &World) -> String {
    path.replace("{partner_id}", &ids.partner_id)
        .replace("{branch_id}", &ids.branch_id)
        .replace("{service_id}", &ids.service_id)
        .replace("{id}", &ids.share_id)
        .replace("{file}", &if path.starts_with("/api/v1/docs/") { "swagger-ui.css".to_string() } else { format!("{}.pdf", ids.copy_id) })
        .replace("{copy_id}", &ids.copy_id)
        .replace("{token}", &world.qr_token)
        .replace("{code}", &world.short_code)
}

/// A body each endpoint accepts as well-formed, so the answer is about who calls, not the JSON.
fn body_for(method: &Method, path: &str, ids: &Ids) -> Option<Value> {
    if *method == Method::GET {
        return None;
    }
    let body = match path {
        p if p.ends_with("/email") => json!({"email": "new-desk@palazzo.example"}),
        p if p.ends_with("/name") => json!({"name": "Готель «Нова назва»"}),
        p if p.ends_with("/names") => json!({"names": "для бронювання номера"}),
        p if p.ends_with("/choices") => json!({"choices": []}),
        p if p.ends_with("/photo-verification") => json!({"assertion": "not.a.jws"}),
        p if p.ends_with("/confirmation") => json!({"code": "000000"}),
        p if p.ends_with("/suspension") => json!({"reason": "перевірка"}),
        p if p.ends_with("/approval") => json!({"revision": 1}),
        p if p.ends_with("/removal") => json!({"revision": 1, "reason": "назва вводить в оману"}),
        "/api/v1/dev/liveness-checks" => json!({"share_request_id": ids.share_id, "photo_base64": "c2VsZmll"}),
        "/api/v1/citizen/scans" => json!({"link": "https://example.invalid/qr/v1/nothing"}),
        _ => json!({}),
    };
    Some(body)
}

/// One call's answer: status, problem code (if any), and the text.
async fn call(app: &TestApp, method: &Method, url_path: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, String, String) {
    let mut request = app.client.request(method.clone(), app.url(url_path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the request");
    let status = response.status();
    let bytes = response.bytes().await.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let code = serde_json::from_str::<Value>(&text).ok().and_then(|v| v["code"].as_str().map(str::to_string)).unwrap_or_default();
    (status, code, text)
}

/// Partner A with a branch, a service, its QR and a delivered share from citizen 1; partner B
/// with a branch of its own; citizen 2; an operator.
async fn world(app: &TestApp) -> World {
    let qr = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let (citizen, share_id) = app.consented_share(&qr.link, &citizens::maryana()).await;
    let (status, body) = app.post(&format!("/api/v1/citizen/share-requests/{share_id}/send"), Some(&citizen), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.wait_for_share_status(&citizen, &share_id, "delivered").await;
    let (_, copies) = app.get(&format!("/api/v1/partner/shares/{share_id}/copies"), Some(&qr.partner.token)).await;
    let copy_id = copies["copies"][0]["copy_id"].as_str().expect("a copy").to_string();
    let (_, current) = app.get(&format!("/api/v1/partner/services/{}/qr", qr.service_id), Some(&qr.partner.token)).await;
    let short_code = current["short_code"].as_str().expect("the short code").replace('-', "");

    let other = app.onboard_partner("43395033", "ТОВ «Інша»").await;
    let (status, body) = app.create_branch(&other, "Кав'ярня «Ґранат»", "desk@granat.example").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let other_citizen = app.citizen_session(&citizens::yevhen().0).await;
    let operator = app.operator_session().await;

    let ids = Ids {
        partner_id: qr.partner.partner_id.clone(),
        branch_id: qr.branch_id.clone(),
        service_id: qr.service_id.clone(),
        share_id: share_id.clone(),
        copy_id,
    };
    let secrets =
        vec![ids.partner_id.clone(), ids.branch_id.clone(), ids.service_id.clone(), share_id, "Палаццо".into(), "Їжакевич".into()];
    World {
        ids,
        qr_token: qr.link.rsplit('/').next().expect("the token").to_string(),
        short_code,
        tokens: vec![
            (Caller::Owner, qr.partner.token.clone()),
            (Caller::OtherPartner, other.token),
            (Caller::Citizen, citizen),
            (Caller::OtherCitizen, other_citizen),
            (Caller::Operator, operator),
        ],
        secrets,
    }
}

/// Whether `caller` is the one `door` is for: the partner who owns the ids, the citizen whose
/// request it is, the operator at the desk.
fn owns(caller: Caller, door: Door) -> bool {
    matches!((caller, door), (Caller::Owner, _) | (Caller::Citizen, Door::Citizen) | (Caller::Operator, Door::Operator))
}

impl World {
    /// The caller's session; the owner is the partner, the citizen or the operator the door is for.
    fn token(&self, caller: Caller, door: Door) -> Option<&str> {
        let as_caller = match (caller, door) {
            (Caller::Anonymous, _) => return None,
            (Caller::Owner, Door::Citizen) => Caller::Citizen,
            (Caller::Owner, Door::Operator) => Caller::Operator,
            (c, _) => c,
        };
        self.tokens.iter().find(|(c, _)| *c == as_caller).map(|(_, t)| t.as_str())
    }
}

#[tokio::test]
async fn every_endpoint_answers_only_the_caller_it_is_for() {
    let app = spawn_app().await;
    let mut world = world(&app).await;
    let (_, doc) = app.get("/api/v1/openapi.json", None).await;
    let mut endpoints = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "delete", "patch"] {
            if item.get(method).is_some() {
                endpoints.push((Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(), path.clone()));
            }
        }
    }
    assert!(endpoints.len() > 60, "the document lists the endpoints: {}", endpoints.len());
    let unknown = Ids::unknown();
    let mut failures = Vec::new();
    let mut checked = BTreeSet::new();

    // Everyone but the owner first: none of these calls may change anything the owner has.
    for (method, path) in &endpoints {
        let door = door_of(path);
        if door == Door::AnySession {
            continue; // signing out ends the session: below, with sessions of their own
        }
        let has_ids = path.contains('{') && door != Door::Public;
        let real = concrete(path, &world.ids, &world);
        let fake = concrete(path, &unknown, &world);
        let public = call(&app, method, &real, None, body_for(method, path, &world.ids)).await;
        for caller in CALLERS.into_iter().filter(|c| !owns(*c, door)) {
            let token = world.token(caller, door);
            let answer = call(&app, method, &real, token, body_for(method, path, &world.ids)).await;
            let label =
                format!("{method} {path} as {caller:?}: {} {} {}", answer.0, answer.1, answer.2.chars().take(200).collect::<String>());
            checked.insert((method.to_string(), path.clone()));
            let stranger = matches!((caller, door), (Caller::OtherPartner, Door::Partner) | (Caller::OtherCitizen, Door::Citizen));
            match door {
                Door::Public => {
                    if answer.0 == StatusCode::UNAUTHORIZED || answer.0 != public.0 {
                        failures.push(format!("{label}: a public endpoint answers everyone alike ({} anonymously)", public.0));
                    }
                }
                // The other partner's or citizen's own door: another's ids are as unknown ones.
                _ if stranger && has_ids => {
                    let as_unknown = call(&app, method, &fake, token, body_for(method, path, &unknown)).await;
                    if answer.0 != StatusCode::NOT_FOUND || (answer.0, &answer.1) != (as_unknown.0, &as_unknown.1) {
                        failures.push(format!("{label}: must answer as for an unknown id ({} {})", as_unknown.0, as_unknown.1));
                    }
                }
                _ if stranger => {
                    if answer.0 == StatusCode::UNAUTHORIZED {
                        failures.push(format!("{label}: its own door"));
                    } else if answer.0.is_success() {
                        if let Some(secret) = world.secrets.iter().find(|s| answer.2.contains(s.as_str())) {
                            failures.push(format!("{label}: shows another's {secret}"));
                        }
                    }
                }
                _ => {
                    if answer.0 != StatusCode::UNAUTHORIZED {
                        failures.push(format!("{label}: another role's door is 401"));
                    }
                }
            }
        }
    }

    // Then the owner, whose ids must not be treated as unknown ones.
    for (method, path) in &endpoints {
        let door = door_of(path);
        if matches!(door, Door::Public | Door::AnySession) {
            continue;
        }
        let token = world.token(Caller::Owner, door);
        let answer = call(&app, method, &concrete(path, &world.ids, &world), token, body_for(method, path, &world.ids)).await;
        let label = format!("{method} {path} as the owner: {} {} {}", answer.0, answer.1, answer.2.chars().take(200).collect::<String>());
        if answer.0 == StatusCode::UNAUTHORIZED {
            failures.push(format!("{label}: the owner is let in"));
        } else if path.contains('{') {
            let as_unknown = call(&app, method, &concrete(path, &unknown, &world), token, body_for(method, path, &unknown)).await;
            if (answer.0, &answer.1) == (as_unknown.0, &as_unknown.1) {
                failures.push(format!("{label}: the owner's ids answer as unknown ones"));
            }
        }
        if *method == Method::POST && path.ends_with("/suspension") {
            // A suspension ends the partner's sessions: its head signs in again for the rest.
            let fresh = app.partner_session("45172831", "ТОВ «Готель „Палаццо“»").await;
            world.tokens.retain(|(c, _)| *c != Caller::Owner);
            world.tokens.push((Caller::Owner, fresh));
        }
    }

    // Signing out: any session ends its own, no one else's; without one, 401. (The matrix
    // suspended the owner, which ended its sessions: the one that must stand is made now.)
    let standing = app.partner_session("45172831", "ТОВ «Готель „Палаццо“»").await;
    for caller in CALLERS {
        let token = match caller {
            Caller::Anonymous => None,
            Caller::Owner | Caller::OtherPartner => Some(app.partner_session("43395033", "ТОВ «Інша»").await),
            Caller::Citizen | Caller::OtherCitizen => Some(app.citizen_session(&citizens::olha().0).await),
            Caller::Operator => Some(app.operator_session().await),
        };
        let (status, code, _) = call(&app, &Method::DELETE, "/api/v1/session", token.as_deref(), None).await;
        let expected = if token.is_some() { StatusCode::NO_CONTENT } else { StatusCode::UNAUTHORIZED };
        if status != expected {
            failures.push(format!("DELETE /api/v1/session as {caller:?}: {status} {code}"));
        }
        if let Some(token) = token {
            let (status, _, _) = call(&app, &Method::GET, "/api/v1/citizen/history", Some(&token), None).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "an ended session opens nothing");
        }
    }
    let (status, _, _) = call(&app, &Method::GET, "/api/v1/partner", Some(&standing), None).await;
    assert_eq!(status, StatusCode::OK, "another session of the same partner signing out leaves this one standing");

    assert!(failures.is_empty(), "{} of {} endpoints × 6 callers fail:\n{}", failures.len(), endpoints.len(), failures.join("\n"));
    assert_eq!(checked.len() + 1, endpoints.len(), "every endpoint but sign-out in the matrix, sign-out on its own");
    app.shutdown().await;
}
