//! What a security review found, each closed with a regression test that failed before its fix
//! (issue "Hardening"; the list is `docs/security.md`).

use std::path::PathBuf;
use std::time::Duration;

use diia_qr_tests::{eventually, mail_text_body, spawn_app, spawn_app_with, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The confirmation letters of a branch, oldest first.
fn letters_of(app: &TestApp, branch_id: &str) -> Vec<PathBuf> {
    let mut letters: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&app.mail_dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&format!("branch-{branch_id}"))))
                .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
                .collect()
        })
        .unwrap_or_default();
    letters.sort();
    letters.into_iter().map(|(_, p)| p).collect()
}

fn code_in(letter: &std::path::Path) -> String {
    let text = mail_text_body(letter);
    text.split_once("Код підтвердження:").expect("a code line").1.trim_start().chars().take_while(char::is_ascii_digit).collect()
}

/// The `n`-th letter of a branch, once it arrived; its code.
async fn nth_code(app: &TestApp, branch_id: &str, n: usize) -> String {
    let letter = eventually(Duration::from_secs(30), &format!("letter {n} of branch {branch_id}"), || async {
        letters_of(app, branch_id).get(n - 1).cloned()
    })
    .await;
    code_in(&letter)
}

/// A code of eight digits that is not `right`.
fn wrong_for(right: &str, i: u32) -> String {
    let guess = format!("{:08}", (right.parse::<u32>().unwrap() + 1 + i) % 100_000_000);
    assert_ne!(guess, right);
    guess
}

async fn confirm(app: &TestApp, branch_id: &str, code: &str) -> (StatusCode, Value) {
    app.post("/api/v1/branch-email-confirmations", None, json!({"branch_id": branch_id, "code": code})).await
}

#[tokio::test]
async fn guessing_a_mailbox_code_is_stopped_and_the_owner_still_confirms() {
    let app = spawn_app().await;
    let partner = app.onboard_partner("45172831", "ТОВ «Готель „Палаццо“»").await;
    let (status, body) = app.create_branch(&partner, "Готель «Палаццо»", "reception@palazzo.example").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let branch_id = body["branch_id"].as_str().unwrap().to_string();
    let first = nth_code(&app, &branch_id, 1).await;

    // Four wrong codes are told how many tries are left; the fifth voids the code and mails a new one.
    for i in 0..4 {
        let (status, body) = confirm(&app, &branch_id, &wrong_for(&first, i)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("email-confirmation-code-wrong")), "{body}");
        assert!(body["detail"].as_str().unwrap().ends_with(&format!("лишилося спроб: {}", 4 - i)), "{body}");
    }
    let (status, body) = confirm(&app, &branch_id, &wrong_for(&first, 4)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("email-confirmation-code-voided")), "{body}");
    let second = nth_code(&app, &branch_id, 2).await;
    let (status, body) = confirm(&app, &branch_id, &first).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("email-confirmation-code-wrong")),
        "the voided code: {body}"
    );

    // A guesser who keeps going runs out of letters for the day: 5 letters, 25 guesses at most.
    let mut answers = Vec::new();
    for i in 0..61 {
        let (status, body) = confirm(&app, &branch_id, &wrong_for(&second, i)).await;
        answers.push((status, body["code"].as_str().unwrap_or_default().to_string()));
    }
    let exhausted =
        answers.iter().filter(|(s, c)| *s == StatusCode::TOO_MANY_REQUESTS && c == "email-confirmation-letters-exhausted").count();
    assert_eq!(exhausted, 1, "the voiding guess once there are no letters left: {answers:?}");
    let after = &answers[answers.iter().position(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS).unwrap() + 1..];
    assert!(after.iter().all(|(s, c)| *s == StatusCode::UNPROCESSABLE_ENTITY && c == "email-confirmation-code-wrong"), "{after:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(letters_of(&app, &branch_id).len(), 5, "no more than five letters a day");
    let last = code_in(letters_of(&app, &branch_id).last().unwrap());
    let (status, body) = confirm(&app, &branch_id, &last).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "the last letter's code was voided too: {body}");

    // A day later the owner asks for a letter again and confirms with its code.
    app.clock.advance(chrono::Duration::hours(25));
    let token = app.partner_session("45172831", "ТОВ «Готель „Палаццо“»").await; // the old session ended after 12 hours
    let (status, body) =
        app.put(&format!("/api/v1/partner/branches/{branch_id}/email"), &token, json!({"email": "reception@palazzo.example"})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let fresh = nth_code(&app, &branch_id, 6).await;
    let (status, body) = confirm(&app, &branch_id, &fresh).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    app.shutdown().await;
}

#[tokio::test]
async fn a_mailbox_code_expires_after_a_day() {
    let app = spawn_app().await;
    let partner = app.onboard_partner("45172831", "ТОВ «Готель „Палаццо“»").await;
    let (_, body) = app.create_branch(&partner, "Готель «Палаццо»", "reception@palazzo.example").await;
    let branch_id = body["branch_id"].as_str().unwrap().to_string();
    let code = nth_code(&app, &branch_id, 1).await;
    app.clock.advance(chrono::Duration::hours(24) + chrono::Duration::minutes(1));
    let (status, body) = confirm(&app, &branch_id, &code).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::GONE, Some("email-confirmation-code-expired")), "{body}");
    app.shutdown().await;
}

fn mode_of(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn the_data_and_mail_folders_are_private_and_a_loose_one_is_tightened_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app_with(|config| {
        // As an older version left them: world-readable folder and letter.
        std::fs::set_permissions(&config.data_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let outbox = config.data_dir.join("outbox");
        std::fs::create_dir_all(&outbox).unwrap();
        std::fs::set_permissions(&outbox, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(outbox.join("share-old.eml"), "a citizen's passport").unwrap();
        std::fs::set_permissions(outbox.join("share-old.eml"), std::fs::Permissions::from_mode(0o644)).unwrap();
    })
    .await;
    assert_eq!(mode_of(&app.data_dir), 0o700);
    assert_eq!(mode_of(&app.mail_dir), 0o700);
    assert_eq!(mode_of(&app.mail_dir.join("share-old.eml")), 0o600);
    let partner = app.onboard_partner("45172831", "ТОВ «Готель „Палаццо“»").await;
    let (_, body) = app.create_branch(&partner, "Готель «Палаццо»", "reception@palazzo.example").await;
    let branch_id = body["branch_id"].as_str().unwrap().to_string();
    nth_code(&app, &branch_id, 1).await;
    for letter in letters_of(&app, &branch_id) {
        assert_eq!(mode_of(&letter), 0o600, "{}", letter.display());
    }
    app.shutdown().await;
}

#[tokio::test]
async fn a_short_code_that_clashes_with_another_qrs_is_never_issued() {
    use diia_qr::app::qr_tokens::QrTokens;
    use diia_qr_projections::keys::{KeyGenerations, KeyRing};
    let app = spawn_app().await;
    let qr = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let service_id: uuid::Uuid = qr.service_id.parse().unwrap();

    // Another service already holds the code the next rotation's token would get first.
    let secret = std::fs::read(app.data_dir.join("service-secret.key")).unwrap();
    let tokens = QrTokens::new(&KeyRing::derive(&secret, KeyGenerations::default()).unwrap(), &app.base);
    let first_choice = tokens.short_code(&tokens.token(service_id, 2));
    let other = uuid::Uuid::new_v4();
    for table in ["qr_short_code_claims", "qr_short_codes_view"] {
        sqlx::query(&format!("INSERT INTO {table} (short_code, service_id, qr_version) VALUES ($1, $2, 1)"))
            .bind(&first_choice)
            .bind(other)
            .execute(&app.pool)
            .await
            .unwrap();
    }

    let (status, rotated) = app.post(&format!("/api/v1/partner/services/{service_id}/qr"), Some(&qr.partner.token), json!({})).await;
    assert_eq!(status, StatusCode::CREATED, "{rotated}");
    let issued = rotated["short_code"].as_str().unwrap().replace('-', "");
    assert_ne!(issued, first_choice, "the clashing code is not printed");
    let citizen = app.citizen_session(&diia_qr_tests::citizens::maryana().0).await;
    let share = eventually(Duration::from_secs(20), "the new code to lead to the service", || async {
        let (status, share) = app.scan(&citizen, &issued).await;
        (status == StatusCode::CREATED).then_some(share)
    })
    .await;
    assert_eq!(share["qr_short_code"], rotated["short_code"], "{share}");
    let (_, current) = app.get(&format!("/api/v1/partner/services/{service_id}/qr"), Some(&qr.partner.token)).await;
    assert_eq!(current["short_code"], rotated["short_code"], "downloaded again, the same code: {current}");
    app.shutdown().await;
}

#[tokio::test]
async fn names_and_text_mean_what_they_show() {
    let app = spawn_app().await;
    let partner = app.onboard_partner("45172831", "ТОВ «Готель „Палаццо“»").await;
    let refused = |name: &str, code: &str| {
        let (app, partner, name, code) = (&app, &partner, name.to_string(), code.to_string());
        async move {
            let (status, body) = app.create_branch(partner, &name, "desk@palazzo.example").await;
            assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code.as_str())), "{name:?}: {body}");
        }
    };
    // Each displays as «Дія», or spells it, or hides something in plain sight.
    refused("Ді\u{200B}я", "branch-name-invalid").await;
    refused("\u{202E}яіД", "branch-name-invalid").await;
    refused("Д\u{00AD}ія готель", "branch-name-invalid").await;
    refused("\u{FEFF}Дія", "branch-name-invalid").await;
    refused("Д і я", "branch-name-forbidden").await;
    refused("Д.І.Я.", "branch-name-forbidden").await;
    refused("Дɪя", "branch-name-forbidden").await;
    refused("ДIЯ готель", "branch-name-forbidden").await; // Latin I
                                                          // A NUL is refused at the door, never a 500.
    refused("Готель\u{0000}", "text-has-nul").await;
    let (status, body) = app.get("/api/v1/partner/documents?q=%00", Some(&partner.token)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("text-has-nul")), "{body}");
    // Links and addresses are not names; a flood of text is not an address.
    refused("Готель bit.ly/palazzo", "branch-name-invalid").await;
    refused("Пишіть: desk@palazzo.example", "branch-name-invalid").await;
    let (status, body) = app
        .post(
            "/api/v1/partner/branches",
            Some(&partner.token),
            json!({
                "name": "Готель «Палаццо»",
                "address": {"region": "Тернопільська область", "locality": "м. Тернопіль", "street": "в".repeat(60_000), "house": "12"},
                "email": "desk@palazzo.example"
            }),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("branch-address-invalid")), "{body}");

    // What a person wrote with apostrophes and Ґ Є І Ї is kept exactly; a full-width form is the letter it shows.
    let (status, body) = app.create_branch(&partner, "Готель «Мар'яна» — Ґ Є І Ї", "desk@palazzo.example").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let branch_id = body["branch_id"].as_str().unwrap().to_string();
    let (_, shown) = eventually(Duration::from_secs(20), "the branch in the cabinet", || async {
        let (status, body) = app.get(&format!("/api/v1/partner/branches/{branch_id}"), Some(&partner.token)).await;
        (status == StatusCode::OK).then_some((status, body))
    })
    .await;
    assert_eq!(shown["name"], "Готель «Мар'яна» — Ґ Є І Ї", "{shown}");
    let (status, body) = app.create_branch(&partner, "Ｈｏｔｅｌ Ｐａｌａｚｚｏ", "desk@palazzo.example").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // A service has a bounded number of names.
    app.confirm_branch_from_mail(&branch_id).await;
    let eleven = (1..=11).map(|i| format!("для мети {i}")).collect::<Vec<_>>().join(", ");
    let (status, body) = app.create_service(&partner, &branch_id, &eleven, &["internal-passport"]).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("service-name-invalid")), "{body}");
    app.shutdown().await;
}

/// A client that connects from another loopback address: another client to the limiter.
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder().local_address(ip.parse::<std::net::IpAddr>().unwrap()).build().unwrap()
}

#[tokio::test]
async fn guessing_short_codes_is_stopped_per_client_and_others_still_scan() {
    let app = spawn_app_with(|c| {
        c.edge.guesses_per_minute = 10;
        c.metrics_token = Some("scrape-token".into());
    })
    .await;
    let qr = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let (_, current) = app.get(&format!("/api/v1/partner/services/{}/qr", qr.service_id), Some(&qr.partner.token)).await;
    let code = current["short_code"].as_str().unwrap().replace('-', "");
    let guesser = client_from("127.0.0.5");
    let mut answers = Vec::new();
    for i in 0..25u64 {
        let guess = format!("{:08}", 10_000_000 + i * 7919);
        let response = guesser.get(app.url(&format!("/q/{guess}"))).send().await.unwrap();
        answers.push(response.status().as_u16());
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            let wait: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=60).contains(&wait), "Retry-After {wait}");
            assert_eq!(response.headers()["content-type"], "application/problem+json");
        }
    }
    assert!(answers[..10].iter().all(|s| *s == 404), "the first ten guesses are answered: {answers:?}");
    assert!(answers[10..].iter().all(|s| *s == 429), "then the guesser waits: {answers:?}");
    // Its right code waits too, and the preview of it: the same client, the same allowance.
    let (status, _) = diia_qr_tests::parts(guesser.get(app.url(&format!("/api/v1/qr-preview?link={code}"))).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);

    // Another client is not held up by the guesser: its scan of the printed code works.
    let neighbour = client_from("127.0.0.2");
    let response = neighbour.get(app.url(&format!("/api/v1/qr-preview?link={code}"))).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
    // A session's requests are not counted by address.
    let citizen = app.citizen_session(&diia_qr_tests::citizens::maryana().0).await;
    let (status, body) = app.scan(&citizen, &qr.link).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // A minute later (on the engine's clock) the guesser's allowance is back.
    app.clock.advance(chrono::Duration::seconds(61));
    let response = guesser.get(app.url(&format!("/api/v1/qr-preview?link={code}"))).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // The operator sees the flood in the metrics: the refusals by code and by route.
    let text = app.client.get(app.url("/metrics")).bearer_auth("scrape-token").send().await.unwrap().text().await.unwrap();
    let value = |prefix: &str| text.lines().find(|l| l.starts_with(prefix)).and_then(|l| l.rsplit(' ').next()).map(str::to_string);
    assert_eq!(value(r#"diia_qr_problems_total{code="too-many-requests"} "#).as_deref(), Some("16"), "{text}");
    assert_eq!(value(r#"diia_qr_http_requests_total{method="GET",route="/q/{code}",status="429"} "#).as_deref(), Some("15"), "{text}");
    app.shutdown().await;
}

#[tokio::test]
async fn a_brute_force_of_mailbox_codes_meets_the_client_limit_and_the_owner_confirms() {
    let app = spawn_app_with(|c| c.edge.guesses_per_minute = 4).await;
    let partner = app.onboard_partner("45172831", "ТОВ «Готель „Палаццо“»").await;
    let (_, body) = app.create_branch(&partner, "Готель «Палаццо»", "reception@palazzo.example").await;
    let branch_id = body["branch_id"].as_str().unwrap().to_string();
    let right = nth_code(&app, &branch_id, 1).await;
    let attacker = client_from("127.0.0.3");
    let mut answers = Vec::new();
    for i in 0..12 {
        let body = json!({"branch_id": branch_id, "code": wrong_for(&right, i)});
        answers.push(attacker.post(app.url("/api/v1/branch-email-confirmations")).json(&body).send().await.unwrap().status().as_u16());
    }
    assert_eq!(answers, [422, 422, 422, 422, 429, 429, 429, 429, 429, 429, 429, 429], "four tries a minute, then 429");
    // The owner, from another address, confirms with the code in the letter: four wrong codes
    // are under the per-code limit of five, so the code still stands.
    let owner = client_from("127.0.0.4");
    let body = json!({"branch_id": branch_id, "code": right});
    let response = owner.post(app.url("/api/v1/branch-email-confirmations")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT, "{}", response.text().await.unwrap());
    app.shutdown().await;
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_pages_a_strict_policy() {
    let app = spawn_app().await;
    for path in ["/health", "/api/v1/openapi.json", "/no/such/page", "/verify", "/qr/v1/abc", "/api/v1/docs", "/api/v1/ca.pem"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        let h = response.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        let policy = h["content-security-policy"].to_str().unwrap();
        assert!(policy.contains("frame-ancestors 'none'"), "{path}: {policy}");
        assert!(policy.contains("default-src 'none'"), "{path}: {policy}");
        let script_src = policy.split(';').find(|d| d.trim().starts_with("script-src")).unwrap_or("");
        assert!(!script_src.contains("unsafe-inline"), "{path}: {policy}");
        if path == "/verify" || path == "/qr/v1/abc" {
            assert!(script_src.contains("'sha256-"), "an inline script is allowed by its hash alone: {policy}");
        }
    }
    app.shutdown().await;
}

#[tokio::test]
async fn half_sent_headers_are_cut_off_and_a_stalled_body_does_not_hold_the_server() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(|c| {
        c.edge.header_read_timeout = Duration::from_secs(1);
        c.edge.request_timeout = Duration::from_secs(2);
        c.edge.max_in_flight = 1;
    })
    .await;
    let addr = app.base.trim_start_matches("http://").to_string();

    // Half a request's headers, then silence: the server closes the connection.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let mut buf = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(30), slow.read_to_end(&mut buf)).await;
    assert!(closed.is_ok(), "a connection with half-sent headers stays open");

    // A body that never arrives holds the one request slot, so another request is told to wait,
    // until the stalled request times out.
    let mut stalled = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stalled
        .write_all(b"POST /api/v1/branch-email-confirmations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"branch")
        .await
        .unwrap();
    let busy = eventually(Duration::from_secs(10), "the busy answer", || async {
        let response = app.client.get(app.url("/health")).send().await.ok()?;
        (response.status() == StatusCode::SERVICE_UNAVAILABLE).then_some(response)
    })
    .await;
    assert_eq!(busy.headers()["retry-after"], "1");
    let (_, problem) = diia_qr_tests::parts(busy).await;
    assert_eq!(problem["code"], "server-busy", "{problem}");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stalled.read_to_end(&mut answer))
        .await
        .expect("the stalled request is answered")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503") && answer.contains("request-timed-out"), "{answer}");
    let (status, _) = app.get("/health", None).await;
    assert_eq!(status, StatusCode::OK, "the slot is free again");
    app.shutdown().await;
}

#[tokio::test]
async fn a_scan_takes_only_this_services_links() {
    let app = spawn_app().await;
    let qr = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let token = qr.link.rsplit_once("/qr/v1/").unwrap().1.to_string();
    let citizen = app.citizen_session(&diia_qr_tests::citizens::maryana().0).await;
    for foreign in [
        format!("https://evil.example/qr/v1/{token}"),
        format!("{}.evil.example/qr/v1/{token}", app.base),
        format!("https://evil.example/?to={}", qr.link),
    ] {
        let (status, body) = app.scan(&citizen, &foreign).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("qr-link-foreign")), "{foreign}: {body}");
        let (status, body) = app.get(&format!("/api/v1/qr-preview?link={}", urlencode(&foreign)), None).await;
        assert_eq!(body["code"], "qr-link-foreign", "{status} {body}");
    }
    let (status, body) = app.scan(&citizen, &qr.link).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app.scan(&citizen, &token).await;
    assert_eq!(status, StatusCode::CREATED, "the bare token, as the app may pass it: {body}");

    // Forged tokens naming services that do not exist are counted under no service: the
    // counters cannot grow with what a scanner invents.
    let rows_before: i64 = sqlx::query_scalar("SELECT count(*) FROM qr_scan_refusals").fetch_one(&app.pool).await.unwrap();
    for _ in 0..20 {
        use base64::Engine as _;
        let mut forged = uuid::Uuid::new_v4().as_bytes().to_vec();
        forged.extend_from_slice(&[0, 0, 0, 1]);
        forged.extend_from_slice(&[7; 16]);
        let (status, _) = app.scan(&citizen, &base64::prelude::BASE64_URL_SAFE_NO_PAD.encode(&forged)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let rows_after: i64 = sqlx::query_scalar("SELECT count(*) FROM qr_scan_refusals").fetch_one(&app.pool).await.unwrap();
    assert!(rows_after <= rows_before + 1, "{rows_before} rows, then {rows_after}");
    app.shutdown().await;
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

#[tokio::test]
async fn sending_rechecks_the_recipient_as_it_stands_now() {
    let app = spawn_app().await;
    let qr = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let operator = app.operator_session().await;
    let send = |citizen: String, id: String| {
        let app = &app;
        async move { app.post(&format!("/api/v1/citizen/share-requests/{id}/send"), Some(&citizen), json!({})).await }
    };

    // Suspended after the citizen consented: nothing goes out; reinstated: it does.
    let (citizen, id) = app.consented_share(&qr.link, &diia_qr_tests::citizens::maryana()).await;
    let suspension = format!("/api/v1/operator/partners/{}/suspension", qr.partner.partner_id);
    let (status, body) = app.post(&suspension, Some(&operator), json!({"reason": "перевірка"})).await;
    assert!(status.is_success(), "{body}");
    let (status, body) = send(citizen.clone(), id.clone()).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("qr-partner-not-active")), "{body}");
    let response = app.client.delete(app.url(&suspension)).bearer_auth(&operator).send().await.unwrap();
    assert!(response.status().is_success());
    let (status, body) = send(citizen, id).await;
    assert!(status.is_success(), "{body}");
    // The suspension ended the head's session.
    let head = app.partner_session("45172831", "ТОВ «Готель „Палаццо“»").await;

    // The branch's mailbox changed since the scan: the copies would go to an address the
    // citizen never saw.
    let (citizen, id) = app.consented_share(&qr.link, &diia_qr_tests::citizens::yevhen()).await;
    let (status, body) =
        app.put(&format!("/api/v1/partner/branches/{}/email", qr.branch_id), &head, json!({"email": "new-desk@palazzo.example"})).await;
    assert!(status.is_success(), "{body}");
    let (status, body) = send(citizen.clone(), id.clone()).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("qr-branch-email-not-confirmed")), "{body}");
    app.confirm_branch_mailbox(&qr.branch_id, "new-desk@palazzo.example").await;
    let (status, body) = send(citizen, id).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::CONFLICT, Some("share-recipient-changed")), "{body}");

    // Revoked after consent: nothing goes out.
    let (citizen, id) = app.consented_share(&qr.link, &diia_qr_tests::citizens::ihor()).await;
    let response =
        app.client.delete(app.url(&format!("/api/v1/partner/services/{}/qr", qr.service_id))).bearer_auth(&head).send().await.unwrap();
    assert!(response.status().is_success());
    let (status, body) = send(citizen, id).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::GONE, Some("qr-revoked")), "{body}");
    app.shutdown().await;
}

#[tokio::test]
async fn branches_cannot_make_the_service_a_mail_relay() {
    let app = spawn_app_with(|c| c.partner_letters_per_day = 12).await;
    let partner = app.onboard_partner("45172831", "ТОВ «Готель „Палаццо“»").await;
    // Ten branches may wait for their mailbox at once; the eleventh waits for one of them.
    let mut branches = Vec::new();
    for i in 1..=10 {
        let (status, body) = app.create_branch(&partner, &format!("Відділення №{i}"), &format!("desk{i}@victim.example")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        branches.push(body["branch_id"].as_str().unwrap().to_string());
    }
    let unconfirmed = || async {
        let (_, body) = app.get("/api/v1/partner/branches", Some(&partner.token)).await;
        body["branches"].as_array().map_or(0, |b| b.iter().filter(|b| b["email_confirmed"] == false).count())
    };
    eventually(Duration::from_secs(20), "ten pending branches in the view", || async { (unconfirmed().await == 10).then_some(()) }).await;
    let (status, body) = app.create_branch(&partner, "Відділення №11", "desk11@victim.example").await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("branch-unconfirmed-limit")), "{body}");

    // The letter's subject carries none of the partner's text: only the body names the branch.
    let letter = app.wait_for_mail(&format!("branch-{}", branches[0])).await;
    let unpacked = diia_qr_tests::temp_dir("letter");
    let (headers, _) = diia_qr_tests::unpack_mail(&letter, &unpacked);
    assert_eq!(headers["subject"], "Дія.QR: підтвердіть адресу пошти відділення", "{headers}");
    assert!(headers["body"].as_str().unwrap().contains("«Відділення №1»"), "{headers}");

    // Confirming one frees a place; the partner's letters of the day (12 here) run out all the same.
    app.confirm_branch_from_mail(&branches[0]).await;
    eventually(Duration::from_secs(20), "nine pending", || async { (unconfirmed().await == 9).then_some(()) }).await;
    let (status, body) = app.create_branch(&partner, "Відділення №11", "desk11@victim.example").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) =
        app.put(&format!("/api/v1/partner/branches/{}/email", branches[0]), &partner.token, json!({"email": "other@victim.example"})).await;
    assert!(status.is_success(), "the twelfth letter: {body}");
    let (status, body) =
        app.put(&format!("/api/v1/partner/branches/{}/email", branches[1]), &partner.token, json!({"email": "more@victim.example"})).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("partner-letters-exhausted")), "{body}");
    // A Kyiv day later the partner may go on.
    app.clock.advance(chrono::Duration::hours(25));
    let token = app.partner_session("45172831", "ТОВ «Готель „Палаццо“»").await;
    let (status, body) =
        app.put(&format!("/api/v1/partner/branches/{}/email", branches[1]), &token, json!({"email": "more@victim.example"})).await;
    assert!(status.is_success(), "{body}");
    app.shutdown().await;
}

#[tokio::test]
async fn personal_data_stays_only_where_it_must() {
    let app = spawn_app().await;
    let qr = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let maryana = diia_qr_tests::citizens::maryana();
    let (citizen, share) = app.consented_share(&qr.link, &maryana).await;
    let (status, body) = app.post(&format!("/api/v1/citizen/share-requests/{share}/send"), Some(&citizen), json!({})).await;
    assert!(status.is_success(), "{body}");
    app.wait_for_share_status(&citizen, &share, "delivered").await;

    // The delivered mail job keeps nothing of the copies.
    let payloads: Vec<String> =
        sqlx::query_scalar("SELECT payload::text FROM mail_outbox WHERE status = 'sent'").fetch_all(&app.pool).await.unwrap();
    assert!(!payloads.is_empty());
    for p in &payloads {
        assert!(!p.contains("004512377") && !p.contains("Їжакевич") && !p.contains(&maryana.0), "a sent job still holds {p}");
    }
    // No event's metadata names a person by РНОКПП.
    let head_rnokpp: String =
        sqlx::query_scalar("SELECT payload->'Registered'->'head'->>'rnokpp' FROM events WHERE event_type = 'PartnerRegistered' LIMIT 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let metadata: Vec<String> = sqlx::query_scalar("SELECT metadata::text FROM events").fetch_all(&app.pool).await.unwrap();
    for m in &metadata {
        assert!(!m.contains(&maryana.0) && !m.contains(&head_rnokpp), "metadata names a person: {m}");
    }

    // The copy's id is not the one a guesser could compute from the request and a document number.
    let (_, list) = app.get(&format!("/api/v1/partner/shares/{share}/copies"), Some(&qr.partner.token)).await;
    let copy_id = list["copies"][0]["copy_id"].as_str().unwrap().to_string();
    let share_id: uuid::Uuid = share.parse().unwrap();
    let derivable = uuid::Uuid::new_v5(&share_id, b"internal-passport:004512377");
    assert_ne!(copy_id, derivable.to_string(), "the copy id derives from the document number");
    // And the public lookup of it names neither the share nor the partner.
    let (status, public) = app.get(&format!("/api/v1/copies/{copy_id}"), None).await;
    assert_eq!(status, StatusCode::OK, "{public}");
    assert!(!public.to_string().contains(&share) && !public.to_string().contains(&qr.partner.partner_id), "{public}");
    app.shutdown().await;
}

#[tokio::test]
async fn a_session_is_opaque_and_a_suspension_ends_the_partners_sessions() {
    use base64::Engine as _;
    let app = spawn_app().await;
    let partner = app.onboard_partner("45172831", "ТОВ «Готель „Палаццо“»").await;
    let raw = base64::prelude::BASE64_URL_SAFE_NO_PAD.decode(&partner.token).expect("one base64url blob");
    let shown = String::from_utf8_lossy(&raw);
    assert!(!shown.contains("45172831") && !shown.contains("Палаццо") && !shown.contains("partner"), "the token shows its holder: {shown}");

    let operator = app.operator_session().await;
    let (status, body) = app
        .post(&format!("/api/v1/operator/partners/{}/suspension", partner.partner_id), Some(&operator), json!({"reason": "перевірка"}))
        .await;
    assert!(status.is_success(), "{body}");
    let (status, body) = app.get("/api/v1/partner", Some(&partner.token)).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")), "{body}");
    // Signing in again shows the suspended cabinet; the old token stays ended.
    app.clock.advance(chrono::Duration::seconds(1));
    let fresh = app.partner_session("45172831", "ТОВ «Готель „Палаццо“»").await;
    let (status, body) = app.get("/api/v1/partner", Some(&fresh)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "suspended", "{body}");
    let (status, _) = app.get("/api/v1/partner", Some(&partner.token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.shutdown().await;
}

/// Pooled connections are not pinged before use (ADR 0010): when the server drops them all (a
/// restart, a failover), each one fails the statement it is handed — a 503 problem, never a
/// 500 — and is then replaced. The engine recovers by itself, within one answer per connection.
#[tokio::test]
async fn connections_the_database_dropped_cost_at_most_one_503_each_and_are_replaced() {
    use sqlx::Connection;
    let app = spawn_app().await;
    let partner = app.onboard_partner("45172831", "ТОВ «Готель „Палаццо“»").await;
    let (status, _) = app.get("/api/v1/partner/branches", Some(&partner.token)).await;
    assert_eq!(status, StatusCode::OK);

    let mut admin = sqlx::PgConnection::connect(&app.database_url).await.unwrap();
    let dropped: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(!dropped.is_empty(), "the engine's connections were open");

    const POOL: usize = diia_qr::startup::DATABASE_CONNECTIONS as usize;
    let mut refused = 0;
    let mut answered = 0;
    for _ in 0..POOL + 10 {
        let (status, body) = app.get("/api/v1/partner/branches", Some(&partner.token)).await;
        if status == StatusCode::OK {
            answered += 1;
            if answered == 5 {
                break;
            }
            continue;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["code"], "storage-unavailable", "{body}");
        refused += 1;
    }
    assert_eq!(answered, 5, "the engine answers again without a restart ({refused} refused)");
    assert!(refused <= POOL, "at most one refusal per dropped connection: {refused}");
    app.shutdown().await;
}
