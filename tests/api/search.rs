//! The search of received documents through `GET /api/v1/partner/documents`: by name in any
//! spelling, by the other filters, sorted and paged with a cursor that stays stable while new
//! shares arrive — and never across partners, whatever the query or cursor.

use std::collections::BTreeSet;
use std::time::Duration;

use diia_qr_domain::identifiers::Edrpou;
use diia_qr_projections::log::{projection_status, rebuild, Projection};
use diia_qr_projections::views::search::SearchIndex;
use reqwest::StatusCode;
use serde_json::{json, Value};

use diia_qr_tests::{citizens, dump_tables, eventually, parts, spawn_app, LiveQr, TestApp, TestPartner};

const DOCUMENTS: &str = "/api/v1/partner/documents";

/// Scan, photo, signature and send: returns the share's id once it is sent.
async fn send_share(app: &TestApp, link: &str, citizen: &(String, String)) -> String {
    let (token, id) = app.consented_share(link, citizen).await;
    let (status, body) = app.post(&format!("/api/v1/citizen/share-requests/{id}/send"), Some(&token), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    id
}

/// Waits until the search index has applied everything committed.
async fn indexed(app: &TestApp) {
    eventually(Duration::from_secs(30), "the search index to catch up", || async {
        let all = projection_status(&app.pool, &["search_index"]).await.ok()?;
        all.iter().find(|p| p.name == "search_index").filter(|p| p.lag_events == 0 && !p.degraded()).map(|_| ())
    })
    .await;
}

/// A search with the parameters URL-encoded; returns the status, the media type and the body.
async fn search_raw(app: &TestApp, token: &str, params: &[(&str, &str)]) -> (StatusCode, String, Value) {
    let url = reqwest::Url::parse_with_params(&app.url(DOCUMENTS), params).expect("a search URL");
    let response = app.client.get(url).bearer_auth(token).send().await.expect("GET the search");
    let media_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let (status, body) = parts(response).await;
    (status, media_type, body)
}

/// A search that must succeed: its page.
async fn search(app: &TestApp, token: &str, params: &[(&str, &str)]) -> Value {
    let (status, _, body) = search_raw(app, token, params).await;
    assert_eq!(status, StatusCode::OK, "{params:?}: {body}");
    body
}

fn documents(page: &Value) -> &Vec<Value> {
    page["documents"].as_array().expect("a list of documents")
}

/// The holders' names of a page, in its order.
fn holders(page: &Value) -> Vec<String> {
    documents(page).iter().map(|d| d["holder_name"].as_str().expect("a holder").to_string()).collect()
}

/// (share, copy) of every result of a page.
fn copies(page: &Value) -> Vec<(String, i64)> {
    documents(page).iter().map(|d| (d["share_request_id"].as_str().unwrap().to_string(), d["copy_index"].as_i64().unwrap())).collect()
}

/// A partner with the hotel's QR asking for the passport and the taxpayer card, and the four
/// demo citizens' shares, one minute apart, in the order Мар'яна, Євген, Ольга, Ігор.
async fn four_shares(app: &TestApp) -> (LiveQr, Vec<String>) {
    let qr = app.live_qr("для поселення у готель", &["internal-passport", "taxpayer-card"]).await;
    let mut shares = Vec::new();
    for citizen in [citizens::maryana(), citizens::yevhen(), citizens::olha(), citizens::ihor()] {
        shares.push(send_share(app, &qr.link, &citizen).await);
        app.clock.advance(chrono::Duration::minutes(1));
    }
    indexed(app).await;
    (qr, shares)
}

/// A valid ЄДРПОУ other than the hotel's (45172831).
fn another_edrpou() -> String {
    (30_000_000u32..).map(|c| c.to_string()).find(|c| Edrpou::parse(c).is_ok()).expect("a valid code")
}

#[tokio::test]
async fn a_holder_is_found_by_name_in_any_case_apostrophe_spelling_or_with_a_typo() {
    let app = spawn_app().await;
    let (qr, _) = four_shares(&app).await;
    let token = &qr.partner.token;
    let maryana = ["Їжакевич Мар'яна Ігорівна"; 2];

    for spelling in
        ["Мар'яна Їжакевич", "Їжакевич", "МАРʼЯНА", "мар’яна", "Марʼяна ЇЖАКЕВИЧ", "Маряна", "Mariana Yizhakevych", "yizhakevych"]
    {
        let page = search(&app, token, &[("q", spelling)]).await;
        assert_eq!(holders(&page), maryana, "{spelling}: {page}");
        assert!(documents(&page).iter().all(|d| d["relevance"].as_f64().is_some()), "{page}");
    }
    // One letter wrong, one letter missing, a letter swapped for its neighbour.
    for typo in ["Їжакевеч", "Ïжакевич", "Їжкевич", "Мар'яна Ижакевич", "Yizhakevich"] {
        let page = search(&app, token, &[("q", typo)]).await;
        assert_eq!(holders(&page).first().map(String::as_str), Some(maryana[0]), "{typo}: {page}");
    }
    // Ґ typed as Г, and the Latin spelling of Ґ.
    for spelling in ["Ґонта", "Гонта", "Gonta", "Yevhen Gonta"] {
        let page = search(&app, token, &[("q", spelling)]).await;
        assert_eq!(holders(&page), ["Ґонта Євген Олексійович"; 2], "{spelling}: {page}");
    }
    for spelling in ["Олійник-Д'Арко", "д’арко", "Oliinyk-DArko"] {
        let page = search(&app, token, &[("q", spelling)]).await;
        assert_eq!(holders(&page).first().map(String::as_str), Some("Олійник-Д'Арко Ігор Степанович"), "{spelling}: {page}");
    }
    let olha = search(&app, token, &[("q", "Yermolenko Olha")]).await;
    assert_eq!(holders(&olha), ["Єрмоленко Ольга Віталіївна"; 2], "{olha}");

    // By relevance, the exact name first: "Ігор" is Ігор's name and the start of Мар'яна's patronymic.
    let page = search(&app, token, &[("q", "Ігор")]).await;
    let names = holders(&page);
    assert_eq!(names[..2], ["Олійник-Д'Арко Ігор Степанович"; 2], "{page}");
    assert!(names[2..].iter().all(|n| n == maryana[0]) && names.len() == 4, "{page}");
    let relevance: Vec<f64> = documents(&page).iter().map(|d| d["relevance"].as_f64().unwrap()).collect();
    assert!(relevance.windows(2).all(|w| w[0] >= w[1]) && relevance[0] > relevance[3], "{relevance:?}");

    // Nobody by that name: an empty page, and no next one.
    let none = search(&app, token, &[("q", "Шевченко Тарас")]).await;
    assert_eq!(none, json!({"documents": [], "next_cursor": null}));
    app.shutdown().await;
}

#[tokio::test]
async fn copies_are_found_by_number_rnokpp_type_branch_service_and_time_and_sorted_by_date() {
    let app = spawn_app().await;
    let qr = app.live_qr("для поселення у готель", &["internal-passport", "taxpayer-card"]).await;
    let token = &qr.partner.token;
    let branch = app.confirmed_branch(&qr.partner, "filiia@palazzo.example").await;
    let (service, link) = app.service_with_qr(&qr.partner, &branch, "для оренди конференц-залу", &["internal-passport"]).await;
    let maryana = send_share(&app, &qr.link, &citizens::maryana()).await;
    app.clock.advance(chrono::Duration::minutes(1));
    let olha = send_share(&app, &link, &citizens::olha()).await;
    app.clock.advance(chrono::Duration::minutes(1));
    let ihor = send_share(&app, &qr.link, &citizens::ihor()).await;
    indexed(&app).await;

    let shares_of = |page: &Value| documents(page).iter().map(|d| d["share_request_id"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    let all = search(&app, token, &[]).await;
    assert_eq!(shares_of(&all), [&*ihor, &*ihor, &*olha, &*maryana, &*maryana], "newest first, by default: {all}");
    let passport = &documents(&all)[3];
    assert_eq!(passport["document_type"], "internal-passport", "{passport}");
    assert_eq!(passport["document_title_uk"], "Паспорт громадянина України (ID-картка)");
    assert_eq!(passport["document_number"], "004512377");
    assert_eq!(passport["rnokpp"], citizens::maryana().0.as_str());
    assert_eq!(passport["branch_id"], qr.branch_id.as_str());
    assert_eq!(passport["service_id"], qr.service_id.as_str());
    assert_eq!(passport["branch_name"], "Готель «Палаццо»");
    assert_eq!(passport["service_names"], json!(["для поселення у готель"]));
    assert!(passport.get("relevance").is_none(), "no name, no relevance: {passport}");

    // The number as printed, with spaces and dashes, or in lower case.
    for number in ["004512377", "0045-12377", " 004 512 377 "] {
        let page = search(&app, token, &[("number", number)]).await;
        assert_eq!(copies(&page), [(maryana.clone(), 0)], "{number}: {page}");
    }
    // Every copy of the share the РНОКПП came with: the taxpayer card and the passport.
    let page = search(&app, token, &[("rnokpp", citizens::maryana().0.as_str())]).await;
    assert_eq!(copies(&page), [(maryana.clone(), 0), (maryana.clone(), 1)], "{page}");
    let page = search(&app, token, &[("type", "taxpayer-card")]).await;
    assert_eq!(shares_of(&page), [&*ihor, &*maryana], "{page}");
    let page = search(&app, token, &[("branch", branch.as_str())]).await;
    assert_eq!(shares_of(&page), [&*olha], "{page}");
    let page = search(&app, token, &[("service", qr.service_id.as_str())]).await;
    assert_eq!(shares_of(&page), [&*ihor, &*ihor, &*maryana, &*maryana], "{page}");
    let page = search(&app, token, &[("service", service.as_str()), ("type", "taxpayer-card")]).await;
    assert!(documents(&page).is_empty(), "{page}");
    let page = search(&app, token, &[("q", "Їжакевич"), ("type", "internal-passport")]).await;
    assert_eq!(copies(&page), [(maryana.clone(), 0)], "{page}");

    // Time: instants from the results themselves (both ends included), and Kyiv days.
    let received =
        |share: &str| documents(&all).iter().find(|d| d["share_request_id"] == share).unwrap()["received_at"].as_str().unwrap().to_string();
    let page = search(&app, token, &[("from", received(&olha).as_str())]).await;
    assert_eq!(shares_of(&page), [&*ihor, &*ihor, &*olha], "{page}");
    let page = search(&app, token, &[("from", received(&olha).as_str()), ("to", received(&olha).as_str())]).await;
    assert_eq!(shares_of(&page), [&*olha], "{page}");
    let page = search(&app, token, &[("to", received(&maryana).as_str())]).await;
    assert_eq!(shares_of(&page), [&*maryana, &*maryana], "{page}");
    let page = search(&app, token, &[("from", "2000-01-01"), ("to", "2099-12-31")]).await;
    assert_eq!(documents(&page).len(), 5, "{page}");
    let page = search(&app, token, &[("to", "2000-01-01")]).await;
    assert!(documents(&page).is_empty(), "{page}");
    let page = search(&app, token, &[("q", "Ольга"), ("sort", "date")]).await;
    assert_eq!(shares_of(&page), [&*olha], "{page}");

    // What cannot be a search is a 422 problem in Ukrainian, never a 500.
    for (params, code) in [
        (vec![("type", "passport")], "document-type-unknown"),
        (vec![("rnokpp", "1234567890")], "search-rnokpp-invalid"),
        (vec![("branch", "головне")], "search-id-invalid"),
        (vec![("from", "31.12.2026")], "search-time-invalid"),
        (vec![("from", "2026-03-02"), ("to", "2026-03-01")], "search-range-reversed"),
        (vec![("sort", "name")], "search-sort-unknown"),
        (vec![("limit", "0")], "search-limit-out-of-range"),
        (vec![("limit", "101")], "search-limit-out-of-range"),
        (vec![("limit", "десять")], "search-limit-invalid"),
        (vec![("q", "' ’ -")], "search-name-empty"),
        (vec![("number", "№ -")], "search-number-empty"),
        (vec![("name", "Ольга")], "search-parameter-unknown"),
        (vec![("q", "Ольга"), ("q", "Ігор")], "search-parameter-repeated"),
        (vec![("cursor", "не-курсор")], "search-cursor-invalid"),
    ] {
        let (status, media_type, body) = search_raw(&app, token, &params).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{params:?}: {body}");
        assert_eq!(media_type, "application/problem+json");
        assert_eq!(body["code"], code, "{params:?}: {body}");
        assert!(body["detail"].as_str().is_some_and(|d| d.chars().any(|c| ('а'..='я').contains(&c))), "{body}");
    }
    let (status, _) = app.get(DOCUMENTS, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.shutdown().await;
}

/// Follows `next_cursor` from the first page to the last, sending a new share after the second
/// page; returns every result in the order seen.
async fn walk(app: &TestApp, token: &str, params: &[(&str, &str)], arrival: impl std::future::Future<Output = ()>) -> Vec<Value> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut arrival = Some(arrival);
    for page_number in 0.. {
        let mut query = params.to_vec();
        query.push(("limit", "1"));
        if let Some(c) = &cursor {
            query.push(("cursor", c.as_str()));
        }
        let page = search(app, token, &query).await;
        assert!(documents(&page).len() <= 1, "{page}");
        seen.extend(documents(&page).iter().cloned());
        if page_number == 1 {
            if let Some(arrival) = arrival.take() {
                arrival.await;
            }
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
        assert!(page_number < 50, "the walk does not end");
    }
    seen
}

#[tokio::test]
async fn pages_of_one_walk_every_result_exactly_once_while_new_shares_arrive() {
    let app = spawn_app().await;
    let (qr, _) = four_shares(&app).await;
    let token = &qr.partner.token;
    let everything: BTreeSet<(String, i64)> = copies(&search(&app, token, &[]).await).into_iter().collect();
    assert_eq!(everything.len(), 8);

    let by_date = walk(&app, token, &[("sort", "date")], async {
        send_share(&app, &qr.link, &citizens::olha()).await;
        indexed(&app).await;
    })
    .await;
    let walked: Vec<(String, i64)> = copies(&json!({ "documents": by_date }));
    assert_eq!(walked.len(), 8, "{walked:?}");
    assert_eq!(walked.iter().cloned().collect::<BTreeSet<_>>(), everything);
    let times: Vec<&str> = by_date.iter().map(|d| d["received_at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");
    assert_eq!(documents(&search(&app, token, &[]).await).len(), 10, "the new share is found by a new search");

    // By relevance, with an equally relevant new share arriving mid-walk.
    let by_relevance = walk(&app, token, &[("q", "Ігор")], async {
        app.clock.advance(chrono::Duration::minutes(1));
        send_share(&app, &qr.link, &citizens::ihor()).await;
        indexed(&app).await;
    })
    .await;
    let walked = copies(&json!({ "documents": by_relevance }));
    let first_page_of_all = copies(&search(&app, token, &[("q", "Ігор"), ("limit", "100")]).await);
    assert_eq!(walked.len(), 4, "{walked:?}");
    assert_eq!(walked.iter().cloned().collect::<BTreeSet<_>>().len(), 4, "no result twice: {walked:?}");
    assert_eq!(first_page_of_all.len(), 6, "the new share's two copies are found by a new search");
    assert!(walked.iter().all(|c| first_page_of_all.contains(c)));
    let relevance: Vec<f64> = by_relevance.iter().map(|d| d["relevance"].as_f64().unwrap()).collect();
    assert!(relevance.windows(2).all(|w| w[0] >= w[1]), "{relevance:?}");
    app.shutdown().await;
}

#[tokio::test]
async fn another_partner_never_sees_the_first_ones_documents_nor_uses_its_cursors() {
    let app = spawn_app().await;
    let (hotel, hotel_shares) = four_shares(&app).await;
    let other: TestPartner = app.onboard_partner(&another_edrpou(), "ТОВ «Хостел „Затишок“»").await;
    let other_branch = app.confirmed_branch(&other, "desk@zatyshok.example").await;
    let (_, other_link) = app.service_with_qr(&other, &other_branch, "для поселення у хостел", &["internal-passport"]).await;
    let own = send_share(&app, &other_link, &citizens::olha()).await;
    indexed(&app).await;

    let maryana = citizens::maryana().0;
    let queries: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        vec![("q", "Мар'яна Їжакевич")],
        vec![("q", "Mariana")],
        vec![("q", "Ольга")],
        vec![("number", "004512377")],
        vec![("rnokpp", maryana.as_str())],
        vec![("type", "taxpayer-card")],
        vec![("branch", hotel.branch_id.as_str())],
        vec![("service", hotel.service_id.as_str())],
        vec![("from", "2000-01-01"), ("sort", "date"), ("limit", "100")],
    ];
    for query in &queries {
        let page = search(&app, &other.token, query).await;
        let text = page.to_string();
        assert!(hotel_shares.iter().all(|s| !text.contains(s.as_str())), "{query:?}: {page}");
        assert!(!text.contains("Їжакевич") && !text.contains(&maryana), "{query:?}: {page}");
        assert!(documents(&page).iter().all(|d| d["share_request_id"] == own.as_str()), "{query:?}: {page}");
    }
    assert_eq!(holders(&search(&app, &other.token, &[("q", "Ольга")]).await), ["Єрмоленко Ольга Віталіївна"]);

    // The hotel's cursor, presented by the other partner: refused, and nothing of the hotel's in the answer.
    let first = search(&app, &hotel.partner.token, &[("q", "Мар'яна"), ("limit", "1")]).await;
    let cursor = first["next_cursor"].as_str().expect("a next page").to_string();
    let (status, media_type, body) = search_raw(&app, &other.token, &[("q", "Мар'яна"), ("limit", "1"), ("cursor", cursor.as_str())]).await;
    assert!(status.is_client_error(), "{status} {body}");
    assert_eq!(media_type, "application/problem+json");
    assert_eq!(body["code"], "search-cursor-other-partner", "{body}");
    assert!(hotel_shares.iter().all(|s| !body.to_string().contains(s.as_str())) && !body.to_string().contains("Їжакевич"), "{body}");

    // One character changed anywhere, or the cursor of another query: refused too.
    for i in [0, cursor.len() / 2, cursor.len() - 1] {
        let mut altered: Vec<char> = cursor.chars().collect();
        altered[i] = if altered[i] == 'A' { 'B' } else { 'A' };
        let altered: String = altered.into_iter().collect();
        let (status, media_type, body) =
            search_raw(&app, &hotel.partner.token, &[("q", "Мар'яна"), ("limit", "1"), ("cursor", altered.as_str())]).await;
        assert_eq!((status, media_type.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "application/problem+json"), "{body}");
        assert_eq!(body["code"], "search-cursor-invalid", "{body}");
    }
    for changed in [vec![("q", "Ольга")], vec![("q", "Мар'яна"), ("sort", "date")], vec![("q", "Мар'яна"), ("type", "taxpayer-card")]]
    {
        let mut query = changed.clone();
        query.push(("cursor", cursor.as_str()));
        let (status, _, body) = search_raw(&app, &hotel.partner.token, &query).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{changed:?}: {body}");
        assert_eq!(body["code"], "search-cursor-other-query", "{changed:?}: {body}");
    }
    // The same query with another page size goes on from the cursor.
    let rest = search(&app, &hotel.partner.token, &[("q", "Мар'яна"), ("limit", "5"), ("cursor", cursor.as_str())]).await;
    assert_eq!(documents(&rest).len(), 1, "{rest}");
    assert_ne!(copies(&rest), copies(&first));
    app.shutdown().await;
}

#[tokio::test]
async fn the_index_rebuilt_from_the_log_answers_the_same() {
    let app = spawn_app().await;
    let (qr, shares) = four_shares(&app).await;
    let token = &qr.partner.token;
    // Every share delivered first: a delivery recorded mid-comparison would change the index.
    eventually(Duration::from_secs(60), "every share to be delivered", || async {
        let (_, received) = app.get("/api/v1/partner/shares", Some(token)).await;
        let statuses: Vec<&str> = received["shares"].as_array()?.iter().filter_map(|s| s["status"].as_str()).collect();
        (statuses.len() == shares.len() && statuses.iter().all(|s| *s == "delivered")).then_some(())
    })
    .await;
    indexed(&app).await;
    let delivered = search(&app, token, &[("q", "Їжакевич")]).await;
    assert!(documents(&delivered).iter().all(|d| d["delivery"] == "delivered"), "{delivered}");

    let queries: Vec<Vec<(&str, &str)>> =
        vec![vec![], vec![("q", "Ігор")], vec![("q", "Gonta"), ("sort", "date")], vec![("type", "internal-passport"), ("limit", "2")]];
    let mut before = Vec::new();
    for query in &queries {
        before.push(search(&app, token, query).await);
    }
    let tables = dump_tables(&app.pool, SearchIndex.tables()).await;
    let report = rebuild(&app.pool, &SearchIndex, |_| {}).await.expect("the rebuild succeeds");
    assert_eq!(report.events as i64, app.event_count().await);
    assert_eq!(dump_tables(&app.pool, SearchIndex.tables()).await, tables);
    for (query, before) in queries.iter().zip(&before) {
        let after = search(&app, token, query).await;
        assert_eq!(documents(&after), documents(before), "{query:?}");
        // A cursor from before the rebuild still continues the same query.
        if let Some(cursor) = before["next_cursor"].as_str() {
            let mut next = query.clone();
            next.push(("cursor", cursor));
            search(&app, token, &next).await;
        }
    }
    let indexes: Vec<String> =
        sqlx::query_scalar("SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'search_documents' ORDER BY 1")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        indexes,
        [
            "search_documents_keyset",
            "search_documents_number",
            "search_documents_pkey",
            "search_documents_rnokpp",
            "search_documents_trigrams",
            "search_documents_words"
        ]
    );
    app.shutdown().await;
}
