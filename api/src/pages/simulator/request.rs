//! One request in the simulator, step by step as the Diia app walks it: the request (who asks,
//! what for, the code to compare), choosing among documents of one type, the photo check, the
//! Diia.Signature code, the draft letter and Send, then the letter as delivered. Each step is a
//! form posted back here (post/redirect/get); a refusal shows the engine's reason on the page.

use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use diia_qr_domain::demo::demo_citizens;
use diia_qr_domain::documents::DocumentType;
use diia_qr_domain::identifiers::Rnokpp;
use diia_qr_domain::share_request::{DocumentChoice, ShareRequest, ShareStatus};
use diia_qr_projections::reactors::delivery::copies_subject;
use maud::{html, Markup};
use uuid::Uuid;

use super::texts::{status_label, texts, Texts};
use super::{absent, citizen};
use crate::app::dev_mail::DeliveredLetter;
use crate::app::qr_tokens::display_short_code;
use crate::app::EngineError;
use crate::http::problem::ApiError;
use crate::http::AppState;
use crate::pages::forms::from_this_origin;
use crate::pages::lang::Lang;
use crate::pages::layout::{page, respond};

/// What the demo liveness provider is shown: it accepts any photo, and the simulator has none.
const SIMULATED_SELFIE: &[u8] = b"selfie taken in the Diia app simulator";

pub async fn show(State(s): State<AppState>, lang: Lang, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let path = format!("/simulator/requests/{id}");
    if let Some(absent) = absent(&s, lang, &path) {
        return absent;
    }
    let Ok(id) = id.parse::<Uuid>() else { return crate::pages::not_found(lang, &path) };
    // Without the simulated citizen's session the request is nobody's to see: back to the start.
    let Some(citizen) = citizen(&s, &headers).await else { return Redirect::to("/simulator").into_response() };
    render(&s, lang, &citizen, id, StatusCode::OK, None).await
}

pub async fn act(
    State(s): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let path = format!("/simulator/requests/{id}");
    if let Some(absent) = absent(&s, lang, &path) {
        return absent;
    }
    let Ok(id) = id.parse::<Uuid>() else { return crate::pages::not_found(lang, &path) };
    let Some(citizen) = citizen(&s, &headers).await else { return Redirect::to("/simulator").into_response() };
    if !from_this_origin(&headers) {
        return render(&s, lang, &citizen, id, StatusCode::FORBIDDEN, Some(texts(lang).foreign_form.to_string())).await;
    }
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_default();
    let done = match action.as_str() {
        "choices" => {
            let choices = fields
                .iter()
                .filter_map(|(k, v)| DocumentType::from_code(k).map(|t| DocumentChoice { document_type: t, document_id: v.clone() }))
                .collect();
            s.engine.choose_documents(&citizen, id, choices).await
        }
        "photo" => match s.engine.dev_liveness_check(&citizen, id, SIMULATED_SELFIE).await {
            Ok(assertion) => s.engine.verify_photo(&citizen, id, &assertion).await,
            Err(e) => Err(e),
        },
        "confirmation" => s.engine.confirm(&citizen, id, field("code").trim()).await,
        "send" => s.engine.send(&citizen, id).await,
        "decline" => s.engine.decline(&citizen, id).await,
        _ => return crate::pages::not_found(lang, &format!("{path}/{action}")),
    };
    match done {
        Ok(()) => Redirect::to(&path).into_response(),
        Err(e) => {
            let e = ApiError::from(e);
            render(&s, lang, &citizen, id, e.status, Some(e.detail)).await
        }
    }
}

/// One attachment of the delivered letter, as the organisation's mail client would save it.
pub async fn attachment(State(s): State<AppState>, lang: Lang, headers: HeaderMap, Path((id, index)): Path<(String, String)>) -> Response {
    let path = format!("/simulator/requests/{id}/letter/{index}");
    if let Some(absent) = absent(&s, lang, &path) {
        return absent;
    }
    let (Ok(id), Ok(index)) = (id.parse::<Uuid>(), index.parse::<usize>()) else { return crate::pages::not_found(lang, &path) };
    let Some(citizen) = citizen(&s, &headers).await else { return Redirect::to("/simulator").into_response() };
    let Ok(Some(letter)) = s.engine.dev_delivered_letter(&citizen, id).await else { return crate::pages::not_found(lang, &path) };
    let Some(part) = letter.attachments.into_iter().nth(index) else { return crate::pages::not_found(lang, &path) };
    let mut response = part.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type_of(&part.content_type)));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", safe_file_name(&part.file_name))) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// Only the two kinds of file a letter of copies carries; anything else is served as opaque bytes.
fn content_type_of(t: &str) -> &'static str {
    match t {
        "application/pdf" => "application/pdf",
        "application/pkcs7-signature" => "application/pkcs7-signature",
        _ => "application/octet-stream",
    }
}

/// A file name fit for a header: the letter's own names are copy ids, anything else becomes `_`.
fn safe_file_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' }).collect()
}

/// Where the request is in the app's flow: an index into `Texts::steps`.
fn step_of(share: &ShareRequest) -> usize {
    match share.status() {
        ShareStatus::New | ShareStatus::Opened if !share.unchosen().is_empty() => 1,
        ShareStatus::New | ShareStatus::Opened => 2,
        ShareStatus::PhotoVerified => 3,
        ShareStatus::Consented => 4,
        _ => 5,
    }
}

async fn render(s: &AppState, lang: Lang, citizen: &Rnokpp, id: Uuid, status: StatusCode, problem: Option<String>) -> Response {
    let t = texts(lang);
    let path = format!("/simulator/requests/{id}");
    let share = match s.engine.share_request(citizen, id).await {
        Ok(share) => share,
        Err(EngineError::Rule { .. }) => return crate::pages::not_found(lang, &path),
        Err(e) => {
            let e = ApiError::from(e);
            return respond(e.status, page(lang, t.title, &path, html! { h1 { (t.title) } div.problem role="alert" { (e.detail) } }));
        }
    };
    let Some(snapshot) = share.snapshot() else { return crate::pages::not_found(lang, &path) };
    let letter = match share.status() {
        ShareStatus::Delivered => s.engine.dev_delivered_letter(citizen, id).await.ok().flatten(),
        _ => None,
    };
    let title = |d: DocumentType| lang.document_title(d);
    let when = |at| lang.kyiv_time(at);
    let step = step_of(&share);
    let open = matches!(share.status(), ShareStatus::New | ShareStatus::Opened | ShareStatus::PhotoVerified | ShareStatus::Consented);
    let main = html! {
        h1 { (t.request_title) }
        ol.progress aria-label=(t.status) {
            // Sending stays the current step until the letter is delivered; then every step is done.
            @let current = if share.status() == ShareStatus::Delivered { t.steps.len() } else { step.min(t.steps.len() - 1) };
            @for (i, name) in t.steps.iter().enumerate() {
                @if i == current {
                    li.current aria-current="step" { (name) }
                } @else if i < current {
                    li.done { (name) }
                } @else {
                    li { (name) }
                }
            }
        }
        @if let Some(problem) = &problem {
            div.problem role="alert" { strong { (t.refused) ": " } (problem) }
        }
        dl.facts {
            dt { (t.asks) } dd { (snapshot.organisation_name) }
            dt { (t.branch) } dd { (snapshot.branch_name) br; (snapshot.branch_address) }
            dt { (t.purposes) } dd { ul { @for p in &snapshot.service_names { li { (p) } } } }
            dt { (t.documents) } dd { ul { @for d in &snapshot.documents { li { (title(*d)) } } } }
            dt { (t.retention) } dd { (snapshot.retention_days) }
            dt { (t.code) } dd { strong.code { (display_short_code(&snapshot.qr_short_code)) } p.hint { (t.code_hint) } }
            dt { (t.status) } dd #status { (status_label(lang, share.status())) }
            @if open { @if let Some(until) = share.expires_at() { dt { (t.expires) } dd { (when(until)) } } }
        }
        (step_form(t, lang, citizen, id, &share))
        @if let Some(letter) = &letter {
            (delivered_letter(t, id, letter))
        } @else if share.status() == ShareStatus::Delivered {
            p.note role="status" { (t.letter_outside) }
        }
        @if open {
            form.secondary method="post" action={ (path) "/decline" } { button.secondary type="submit" { (t.decline) } }
        }
        p { a href="/simulator" { (t.again) } }
        // Reloads the page while the letter is on its way.
        script src="/assets/simulator.js" {}
    };
    let mut response = respond(status, page(lang, t.request_title, &path, main));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The form of the step the request is at (or what the app says once it is past them).
fn step_form(t: &Texts, lang: Lang, citizen: &Rnokpp, id: Uuid, share: &ShareRequest) -> Markup {
    let path = format!("/simulator/requests/{id}");
    let title = |d: DocumentType| lang.document_title(d);
    let Some(snapshot) = share.snapshot() else { return html! {} };
    match (share.status(), step_of(share)) {
        (_, 1) => html! {
            section aria-labelledby="choose-title" {
                h2 #choose-title { (t.choose_title) }
                p.hint { (t.choose_hint) }
                form method="post" action={ (path) "/choices" } {
                    @for kind in share.unchosen() {
                        fieldset {
                            legend { (title(kind)) }
                            @for (i, c) in share.candidates().iter().filter(|c| c.document_type == kind).enumerate() {
                                @let input_id = format!("{}-{i}", kind.code());
                                div.choice {
                                    input type="radio" id=(input_id) name=(kind.code()) value=(c.document_id) required checked[i == 0];
                                    label for=(input_id) { (c.label) }
                                }
                            }
                        }
                    }
                    button type="submit" { (t.choose) }
                }
            }
        },
        (_, 2) => html! {
            section aria-labelledby="photo-title" {
                h2 #photo-title { (t.photo_title) }
                p.hint { (t.photo_hint) }
                form method="post" action={ (path) "/photo" } { button type="submit" { (t.verify_photo) } }
            }
        },
        (_, 3) => {
            let demo_code = demo_citizens().into_iter().find(|c| &c.rnokpp == citizen).map(|c| c.signature_code);
            html! {
                section aria-labelledby="sign-title" {
                    h2 #sign-title { (t.sign_title) }
                    p.hint { (t.sign_hint) }
                    form method="post" action={ (path) "/confirmation" } {
                        label for="code" { (t.sign_code) }
                        input #code name="code" type="password" inputmode="numeric" autocomplete="one-time-code"
                            required minlength="6" maxlength="6" pattern="[0-9]{6}" aria-describedby="demo-code";
                        @if let Some(code) = demo_code {
                            p.hint #demo-code { (t.demo_code) ": " strong { (code) } }
                        }
                        button type="submit" { (t.sign) }
                    }
                }
            }
        }
        (_, 4) => html! {
            section aria-labelledby="draft-title" {
                h2 #draft-title { (t.draft_title) }
                dl.facts {
                    dt { (t.draft_to) } dd #draft-to { (snapshot.recipient_email.as_str()) }
                    dt { (t.draft_subject) } dd { (copies_subject(snapshot)) }
                    dt { (t.draft_attachments) } dd { ul { @for d in &snapshot.documents { li { (title(*d)) ": " (t.draft_attachment) } } } }
                }
                form method="post" action={ (path) "/send" } { button type="submit" { (t.send) } }
            }
        },
        (ShareStatus::Sent, _) => html! {
            p #progress-note role="status" data-refresh="1500" { (t.sending) }
            p { a href=(path) { (t.refresh) } }
        },
        (ShareStatus::DeliveryFailed, _) => html! { div.problem role="status" { (t.failed) } },
        (ShareStatus::Declined, _) => html! { p.note role="status" { (t.declined) } },
        (ShareStatus::Expired, _) => html! { p.note role="status" { (t.expired) } },
        (ShareStatus::Delivered, _) => html! {},
        _ => html! {},
    }
}

fn delivered_letter(t: &Texts, id: Uuid, letter: &DeliveredLetter) -> Markup {
    html! {
        section.letter aria-labelledby="letter-title" {
            h2 #letter-title { (t.delivered_title) }
            dl.facts {
                dt { (t.letter_from) } dd { (letter.from) }
                dt { (t.draft_to) } dd { (letter.to) }
                dt { (t.draft_subject) } dd #letter-subject { (letter.subject) }
                dt { (t.letter_date) } dd { (letter.date) }
                dt { (t.letter_id) } dd { code { (letter.message_id) } }
            }
            pre.letter-text { (letter.text) }
            h3 { (t.draft_attachments) }
            ul #letter-attachments {
                @for (i, a) in letter.attachments.iter().enumerate() {
                    li { a href={ "/simulator/requests/" (id) "/letter/" (i) } download=(safe_file_name(&a.file_name)) { (a.file_name) } " (" (a.content_type) ", " (a.bytes.len()) " B)" }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::safe_file_name;

    #[test]
    fn an_attachment_name_cannot_break_its_header() {
        assert_eq!(safe_file_name("0b6e.pdf"), "0b6e.pdf");
        assert_eq!(safe_file_name("a\"; b\r\n.pdf"), "a___b__.pdf");
        assert_eq!(safe_file_name("паспорт.pdf"), "_______.pdf");
    }
}
