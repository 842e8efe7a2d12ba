//! The cabinet's views through the API: the overview counts what arrived on its Kyiv day and
//! service, refused scans and delivery failures; the details of a branch, a service and a share
//! (its timeline, the mail server's Message-ID or the failure's reason); another partner finds
//! none of it.

use std::time::Duration;

use chrono::{DateTime, Duration as Span, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Kyiv;
use diia_qr::config::MailConfig;
use diia_qr_domain::identifiers::Edrpou;
use diia_qr_tests::{citizens, eventually, message_ids, spawn_app, spawn_app_with, SmtpServer, TestApp, TestPartner};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::openapi::assert_matches_schema;

/// Moves the engine's clock to half past midnight in Kyiv, when the UTC date is still the day
/// before: a count by UTC day would land on the wrong day. Done before any session is made
/// (sessions last 12 hours on this clock).
fn to_half_past_midnight_in_kyiv(app: &TestApp) {
    let now = app.clock.now();
    let tomorrow = now.with_timezone(&Kyiv).date_naive() + Span::days(1);
    let target = Kyiv.from_local_datetime(&tomorrow.and_hms_opt(0, 30, 0).unwrap()).earliest().unwrap().with_timezone(&Utc);
    app.clock.advance(target - now);
}

fn kyiv_day(t: &Value) -> NaiveDate {
    DateTime::parse_from_rfc3339(t.as_str().expect("a time")).unwrap().with_timezone(&Kyiv).date_naive()
}

/// Another valid ЄДРПОУ than the hotel's.
fn another_edrpou() -> String {
    (45_172_800u32..).map(|c| c.to_string()).find(|c| c != "45172831" && Edrpou::parse(c).is_ok()).unwrap()
}

async fn send(app: &TestApp, link: &str) -> (String, String) {
    let (citizen, id) = app.consented_share(link, &citizens::maryana()).await;
    let (status, body) = app.post(&format!("/api/v1/citizen/share-requests/{id}/send"), Some(&citizen), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (citizen, id)
}

/// The overview once the views show `ready`.
async fn overview_when(app: &TestApp, partner: &TestPartner, query: &str, ready: impl Fn(&Value) -> bool) -> Value {
    eventually(Duration::from_secs(30), "the overview to catch up", || async {
        let (status, body) = app.get(&format!("/api/v1/partner/overview{query}"), Some(&partner.token)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        ready(&body).then_some(body)
    })
    .await
}

fn service<'a>(overview: &'a Value, id: &str) -> &'a Value {
    overview["services"].as_array().unwrap().iter().find(|s| s["service_id"] == id).unwrap_or_else(|| panic!("{id} in {overview}"))
}

/// The days with shares in a series, and the length of the series.
fn nonzero_days(series: &Value) -> (Vec<(String, i64)>, usize) {
    let days = series["per_day"].as_array().unwrap();
    let nonzero =
        days.iter().filter(|d| d["shares"] != 0).map(|d| (d["day"].as_str().unwrap().to_string(), d["shares"].as_i64().unwrap())).collect();
    (nonzero, days.len())
}

#[tokio::test]
async fn the_overview_counts_a_delivered_share_on_its_kyiv_day_and_service_and_zero_elsewhere() {
    let app = spawn_app().await;
    to_half_past_midnight_in_kyiv(&app);
    let qr = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let (other_service, _) = app.service_with_qr(&qr.partner, &qr.branch_id, "для оренди паркомісця", &["internal-passport"]).await;
    let (citizen, id) = send(&app, &qr.link).await;
    let delivered = app.wait_for_share_status(&citizen, &id, "delivered").await;
    let sent_at = &delivered["share"]["sent_at"];
    let day = kyiv_day(sent_at);
    let utc_day = DateTime::parse_from_rfc3339(sent_at.as_str().unwrap()).unwrap().with_timezone(&Utc).date_naive();
    assert_ne!(day, utc_day, "the share is sent after midnight in Kyiv and before it in UTC");

    // The last 30 Kyiv days, today included.
    let overview = overview_when(&app, &qr.partner, "", |o| o["received"]["total"] == 1).await;
    assert_eq!(overview["range"]["days"], 30);
    assert_eq!(overview["range"]["last_day"], day.to_string());
    assert_eq!(nonzero_days(&overview["received"]), (vec![(day.to_string(), 1)], 30));
    assert_eq!(nonzero_days(&service(&overview, &qr.service_id)["received"]), (vec![(day.to_string(), 1)], 30));
    assert_eq!(nonzero_days(&service(&overview, &other_service)["received"]), (vec![], 30), "nothing for the other service");
    assert_eq!(overview["partner"]["status"], "active");
    assert_eq!(overview["delivery_failures"], json!({"total": 0, "listed": []}));
    let branch = &overview["branches"][0];
    assert_eq!(branch["mailbox"], json!({"state": "confirmed", "confirmed_address": "reception@palazzo.example", "pending_address": null}));
    assert_eq!(branch["receives_copies"], true);
    assert_eq!(service(&overview, &qr.service_id)["qr"], json!({"state": "active", "version": 1, "active": true}));
    assert_matches_schema(&app, "Overview", &overview).await;

    // The Kyiv day alone, then the UTC date the same instant falls on: counted on the first only.
    let one_day = app.get(&format!("/api/v1/partner/overview?from={day}&to={day}"), Some(&qr.partner.token)).await.1;
    assert_eq!(nonzero_days(&one_day["received"]), (vec![(day.to_string(), 1)], 1));
    let utc = app.get(&format!("/api/v1/partner/overview?from={utc_day}&to={utc_day}"), Some(&qr.partner.token)).await.1;
    assert_eq!(nonzero_days(&utc["received"]), (vec![], 1), "{utc}");
    // An instant range ending just before the send leaves it out; one ending at it takes it in.
    let sent = DateTime::parse_from_rfc3339(sent_at.as_str().unwrap()).unwrap().with_timezone(&Utc);
    let instant = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let before = app
        .get(&format!("/api/v1/partner/overview?from={day}&to={}", instant(sent - Span::microseconds(1))), Some(&qr.partner.token))
        .await
        .1;
    assert_eq!(before["received"]["total"], 0, "{before}");
    let at = app.get(&format!("/api/v1/partner/overview?from={day}&to={}", instant(sent)), Some(&qr.partner.token)).await.1;
    assert_eq!(at["received"]["total"], 1, "{at}");
    app.shutdown().await;
}

#[tokio::test]
async fn refused_scans_of_a_revoked_qr_are_counted_in_the_overview_and_the_service() {
    let app = spawn_app().await;
    let qr = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let r =
        app.client.delete(app.url(&format!("/api/v1/partner/services/{}/qr", qr.service_id))).bearer_auth(&qr.partner.token).send().await;
    assert_eq!(r.unwrap().status(), StatusCode::NO_CONTENT);
    let citizen = app.citizen_session(&citizens::maryana().0).await;
    for _ in 0..2 {
        let (status, body) = app.scan(&citizen, &qr.link).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::GONE, Some("qr-revoked")), "{body}");
    }

    let revoked =
        |o: &Value| o["services"].as_array().unwrap().iter().any(|s| s["service_id"] == qr.service_id && s["qr"]["state"] == "revoked");
    let overview = overview_when(&app, &qr.partner, "", revoked).await;
    let summary = service(&overview, &qr.service_id);
    assert_eq!(summary["qr"], json!({"state": "revoked", "version": 1, "active": false}));
    assert_eq!(summary["refused_scans"], json!({"total": 2, "by_reason": {"qr-revoked": 2}}));
    let (status, details) = app.get(&format!("/api/v1/partner/services/{}", qr.service_id), Some(&qr.partner.token)).await;
    assert_eq!(status, StatusCode::OK, "{details}");
    assert_eq!(details["refused_scans"], summary["refused_scans"]);
    assert_eq!(details["qr"]["state"], "revoked");
    app.shutdown().await;
}

#[tokio::test]
async fn a_delivery_failure_appears_with_its_time_and_the_servers_reason() {
    let mut smtp = SmtpServer::start(&[]);
    let (port, url) = (smtp.port, smtp.url());
    let app = spawn_app_with(|c| c.mail = MailConfig::Smtp(url)).await;
    let partner = app.onboard_partner("45172831", "ТОВ «Готель „Палаццо“»").await;
    let branch = app.confirmed_branch_via_smtp(&partner, "reception@palazzo.example", &smtp).await;
    let (_, link) = app.service_with_qr(&partner, &branch, "для поселення у готель", &["internal-passport"]).await;
    smtp.stop();
    let _refusing = SmtpServer::start_on(port, &["reception@palazzo.example"], 0.0);
    let (citizen, id) = send(&app, &link).await;
    app.wait_for_share_status(&citizen, &id, "delivery_failed").await;

    let overview = overview_when(&app, &partner, "", |o| o["delivery_failures"]["listed"][0]["reason"].is_string()).await;
    assert_eq!(overview["delivery_failures"]["total"], 1);
    let failure = &overview["delivery_failures"]["listed"][0];
    assert_eq!(failure["share_request_id"], id.as_str());
    assert_eq!(failure["branch_id"], branch.as_str());
    let reason = failure["reason"].as_str().expect("the server's reply");
    assert!(reason.contains("550"), "{reason}");
    assert_eq!(overview["received"]["total"], 1, "a share the server refused was still received (sent by the citizen)");

    let (status, share) = app.get(&format!("/api/v1/partner/shares/{id}"), Some(&partner.token)).await;
    assert_eq!(status, StatusCode::OK, "{share}");
    assert_eq!(share["status"], "delivery_failed");
    assert_eq!(share["delivery"]["outcome"], "failed");
    assert_eq!(share["delivery"]["reason"], reason);
    assert_eq!(share["delivery"]["failed_at"], failure["failed_at"]);
    let statuses: Vec<&str> = share["timeline"].as_array().unwrap().iter().map(|t| t["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["opened", "photo_verified", "consented", "sent", "delivery_failed"]);
    assert_matches_schema(&app, "ShareDetails", &share).await;
    app.shutdown().await;
}

#[tokio::test]
async fn details_of_a_branch_a_service_and_a_share_with_its_timeline_and_message_id() {
    let app = spawn_app().await;
    let qr = app.live_qr("для поселення у готель", &["internal-passport", "taxpayer-card"]).await;
    let (citizen, id) = send(&app, &qr.link).await;
    app.wait_for_share_status(&citizen, &id, "delivered").await;
    let letter = app.wait_for_mail(&format!("share-{id}")).await;
    let mailed_id = message_ids(&[letter]).pop().expect("the letter's Message-ID");

    let share = eventually(Duration::from_secs(30), "the timeline to show the delivery", || async {
        let (status, share) = app.get(&format!("/api/v1/partner/shares/{id}"), Some(&qr.partner.token)).await;
        assert_eq!(status, StatusCode::OK, "{share}");
        (share["timeline"].as_array().map(Vec::len) == Some(5) && share["delivery"]["outcome"] == "delivered").then_some(share)
    })
    .await;
    assert_eq!(share["status"], "delivered");
    assert_eq!(share["delivery"]["message_id"], mailed_id.as_str(), "the Message-ID the mail server accepted");
    assert!(share["delivery"]["accepted_at"].is_string());
    assert_eq!(
        share["documents"],
        json!([
            {"type": "internal-passport", "title": "Паспорт громадянина України (ID-картка)"},
            {"type": "taxpayer-card", "title": "Картка платника податків (РНОКПП)"}
        ])
    );
    assert_eq!(share["purposes"], json!(["для поселення у готель"]));
    let timeline = share["timeline"].as_array().unwrap();
    let statuses: Vec<&str> = timeline.iter().map(|t| t["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["opened", "photo_verified", "consented", "sent", "delivered"]);
    let times: Vec<DateTime<Utc>> = timeline.iter().map(|t| t["at"].as_str().unwrap().parse().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "in order: {times:?}");
    assert_eq!(timeline[3]["at"], share["sent_at"]);
    assert_eq!(timeline[4]["at"], share["delivery"]["accepted_at"]);
    assert_eq!(timeline[4]["message_id"], mailed_id.as_str());
    assert_eq!(share["erasure"], Value::Null);
    assert_matches_schema(&app, "ShareDetails", &share).await;

    let (status, service) = app.get(&format!("/api/v1/partner/services/{}", qr.service_id), Some(&qr.partner.token)).await;
    assert_eq!(status, StatusCode::OK, "{service}");
    assert_eq!(service["shares_by_status"], json!({"delivered": 1}));
    assert_eq!(service["branch"]["branch_id"], qr.branch_id.as_str());
    assert_eq!(service["qr"]["state"], "active");
    assert_matches_schema(&app, "ServiceDetails", &service).await;

    let (status, branch) = app.get(&format!("/api/v1/partner/branches/{}", qr.branch_id), Some(&qr.partner.token)).await;
    assert_eq!(status, StatusCode::OK, "{branch}");
    assert_eq!(branch["mailbox"]["state"], "confirmed");
    assert_eq!(branch["services"][0]["service_id"], qr.service_id.as_str());
    assert_matches_schema(&app, "BranchDetails", &branch).await;

    // A new mailbox waits for its confirmation, and no copies go anywhere meanwhile.
    let (status, _) = app
        .put(&format!("/api/v1/partner/branches/{}/email", qr.branch_id), &qr.partner.token, json!({"email": "new@palazzo.example"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let branch = eventually(Duration::from_secs(30), "the branch to await confirmation", || async {
        let (_, branch) = app.get(&format!("/api/v1/partner/branches/{}", qr.branch_id), Some(&qr.partner.token)).await;
        (branch["mailbox"]["state"] == "awaiting_confirmation").then_some(branch)
    })
    .await;
    assert_eq!(
        branch["mailbox"],
        json!({"state": "awaiting_confirmation", "confirmed_address": null, "pending_address": "new@palazzo.example"})
    );
    assert_eq!(branch["receives_copies"], false);
    app.shutdown().await;
}

#[tokio::test]
async fn another_partner_finds_none_of_it() {
    let app = spawn_app().await;
    let qr = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let (citizen, id) = send(&app, &qr.link).await;
    app.wait_for_share_status(&citizen, &id, "delivered").await;
    overview_when(&app, &qr.partner, "", |o| o["received"]["total"] == 1).await;
    let other = app.onboard_partner(&another_edrpou(), "ТОВ «Інший готель»").await;

    for (path, code) in [
        (format!("/api/v1/partner/branches/{}", qr.branch_id), "branch-not-found"),
        (format!("/api/v1/partner/services/{}", qr.service_id), "service-not-found"),
        (format!("/api/v1/partner/shares/{id}"), "share-not-found"),
    ] {
        let (status, body) = app.get(&path, Some(&other.token)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some(code)), "{path}: {body}");
        let (status, mine) = app.get(&path, Some(&qr.partner.token)).await;
        assert_eq!(status, StatusCode::OK, "{path} is the owner's: {mine}");
        let (status, _) = app.get(&path, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} needs a session");
    }
    let (_, theirs) = app.get("/api/v1/partner/overview", Some(&other.token)).await;
    assert_eq!(
        (&theirs["branches"], &theirs["services"], &theirs["received"]["total"], &theirs["delivery_failures"]["total"]),
        (&json!([]), &json!([]), &json!(0), &json!(0)),
        "{theirs}"
    );
    let citizen_session = app.citizen_session(&citizens::maryana().0).await;
    let (status, _) = app.get("/api/v1/partner/overview", Some(&citizen_session)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a citizen's session is no partner's");
    app.shutdown().await;
}

#[tokio::test]
async fn a_range_that_does_not_parse_or_is_reversed_or_too_long_is_a_422_in_ukrainian() {
    let app = spawn_app().await;
    let partner = app.onboard_partner("45172831", "ТОВ «Готель „Палаццо“»").await;
    for (query, code, words) in [
        ("?from=01.03.2026", "overview-time-invalid", "не дата"),
        ("?to=вчора", "overview-time-invalid", "«to»"),
        ("?from=2026-03-02&to=2026-03-01", "overview-range-reversed", "пізніший"),
        ("?from=2025-01-01&to=2026-01-02", "overview-range-too-long", "366"),
    ] {
        let (status, body) = app.get(&format!("/api/v1/partner/overview{query}"), Some(&partner.token)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "{query}: {body}");
        assert!(body["detail"].as_str().is_some_and(|d| d.contains(words)), "{query}: {body}");
    }
    let (status, body) = app.get("/api/v1/partner/overview?from=2026-03-01&to=2026-03-03T12:00:00%2B02:00", Some(&partner.token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!((body["range"]["first_day"].as_str(), body["range"]["days"].as_i64()), (Some("2026-03-01"), Some(3)));
    assert_eq!(body["range"]["ends_before"], "2026-03-03T10:00:00.000001Z");
    app.shutdown().await;
}
