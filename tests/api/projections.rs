//! The projections as an operator runs them: status, health, rebuild while serving, and an event
//! a projection cannot apply halting that projection alone.

use std::process::Command;
use std::time::Duration;

use diia_qr_domain::identifiers::Edrpou;
use diia_qr_projections::log::{projection_status, rebuild, Projection, RebuildError};
use diia_qr_projections::views::cabinet::CabinetViews;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use reqwest::StatusCode;
use serde_json::{json, Value};

use diia_qr_tests::{citizens, dump_tables, engine_binary, eventually, spawn_app, TestApp, TestPartner};

/// Waits until every projection has applied everything committed, and none is failing.
async fn caught_up(app: &TestApp) {
    eventually(Duration::from_secs(30), "the projections to catch up", || async {
        let all = projection_status(&app.pool, &diia_qr_projections::projection_names()).await.ok()?;
        all.iter().all(|p| p.lag_events == 0 && !p.degraded()).then_some(())
    })
    .await;
}

async fn cabinet_dump(app: &TestApp) -> Value {
    dump_tables(&app.pool, CabinetViews.tables()).await
}

/// Valid ЄДРПОУ codes, one per partner a test needs.
fn edrpou_codes(n: usize) -> Vec<String> {
    (45_172_800u32..).map(|c| c.to_string()).filter(|c| Edrpou::parse(c).is_ok()).take(n).collect()
}

#[tokio::test]
async fn a_view_rebuilt_while_commands_arrive_equals_one_built_as_they_came() {
    let app = spawn_app().await;
    let qr = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    app.consented_share(&qr.link, &citizens::maryana()).await;
    caught_up(&app).await;

    // New branches keep arriving during the rebuild: none may be lost at the swap. Three
    // partners share them, as each may have ten branches waiting for their mailbox at once.
    let mut tokens = vec![qr.partner.token.clone()];
    for edrpou in edrpou_codes(3).into_iter().filter(|c| c != "45172831").take(2) {
        tokens.push(app.onboard_partner(&edrpou, &format!("ТОВ «Партнер {edrpou}»")).await.token);
    }
    let writer = {
        let base = app.base.clone();
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            for i in 0..30 {
                let response = client
                    .post(format!("{base}/api/v1/partner/branches"))
                    .bearer_auth(&tokens[i % 3])
                    .json(&json!({
                        "name": format!("Філія № {i}"),
                        "address": {"region": "Львівська область", "locality": "м. Львів", "street": "вул. Городоцька", "house": i.to_string()},
                        "email": format!("filiia{i}@palazzo.example")
                    }))
                    .send()
                    .await
                    .expect("POST a branch");
                assert_eq!(response.status(), StatusCode::CREATED);
            }
        })
    };
    let mut swaps = 0;
    while !writer.is_finished() {
        rebuild(&app.pool, &CabinetViews, |_| {}).await.expect("the rebuild succeeds");
        swaps += 1;
    }
    writer.await.expect("the writer finished");
    assert!(swaps >= 1);
    caught_up(&app).await;

    let (status, branches) = app.get("/api/v1/partner/branches", Some(&qr.partner.token)).await;
    assert_eq!(status, StatusCode::OK, "{branches}");
    assert_eq!(branches["branches"].as_array().expect("branches").len(), 11, "{branches}");
    let incremental = cabinet_dump(&app).await;
    let report = rebuild(&app.pool, &CabinetViews, |_| {}).await.expect("rebuild");
    assert_eq!(report.events as i64, app.event_count().await);
    assert_eq!(cabinet_dump(&app).await, incremental);

    // The tables keep their indexes, under the names the migrations gave them.
    let indexes: Vec<String> =
        sqlx::query_scalar("SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'branches_view' ORDER BY 1")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(indexes, ["branches_view_moderation", "branches_view_partner", "branches_view_pkey"]);
    app.shutdown().await;
}

#[tokio::test]
async fn a_reactor_is_never_replayed() {
    let app = spawn_app().await;
    let keys = diia_qr_projections::keys::KeyRing::derive(&[1u8; 32], Default::default()).unwrap();
    let outbox = diia_qr_projections::projections(&keys).into_iter().find(|p| p.name() == "mail_outbox").expect("the outbox");
    let refused = rebuild(&app.pool, outbox.as_ref(), |_| {}).await;
    assert!(matches!(refused, Err(RebuildError::NotRebuildable("mail_outbox"))), "{refused:?}");
    app.shutdown().await;
}

/// One step of a random history, each through the HTTP API as its actor would take it. Steps a
/// rule refuses are part of the history too: they must change no view.
#[derive(Debug, Clone)]
enum Step {
    NewPartner,
    NewBranch(usize),
    ConfirmBranch(usize),
    ChangeBranchEmail(usize),
    NewService(usize, usize),
    IssueQr(usize),
    RevokeQr(usize),
    DeactivateService(usize),
    Scan(usize, usize),
    Advance(usize),
    Decline(usize),
    Suspend(usize),
    Reinstate(usize),
}

fn step() -> impl Strategy<Value = Step> {
    let i = || 0usize..6;
    prop_oneof![
        1 => Just(Step::NewPartner),
        3 => i().prop_map(Step::NewBranch),
        3 => i().prop_map(Step::ConfirmBranch),
        1 => i().prop_map(Step::ChangeBranchEmail),
        3 => (i(), 0usize..4).prop_map(|(b, d)| Step::NewService(b, d)),
        3 => i().prop_map(Step::IssueQr),
        1 => i().prop_map(Step::RevokeQr),
        1 => i().prop_map(Step::DeactivateService),
        4 => (i(), 0usize..4).prop_map(|(s, c)| Step::Scan(s, c)),
        6 => i().prop_map(Step::Advance),
        1 => i().prop_map(Step::Decline),
        1 => i().prop_map(Step::Suspend),
        1 => i().prop_map(Step::Reinstate),
    ]
}

/// What a history has made so far, for steps to refer to by index.
#[derive(Default)]
struct World {
    partners: Vec<TestPartner>,
    /// (partner, branch id, mailbox, confirmed)
    branches: Vec<(usize, String, String, bool)>,
    services: Vec<(usize, String)>,
    links: Vec<String>,
    shares: Vec<(String, String, (String, String), u8)>,
    made: usize,
}

/// The next unused ЄДРПОУ: partners of earlier histories live on in the same database.
static NEXT_CODE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn pick<T>(items: &[T], i: usize) -> Option<&T> {
    (!items.is_empty()).then(|| &items[i % items.len()])
}

const DOCUMENT_SETS: [&[&str]; 4] =
    [&["internal-passport"], &["taxpayer-card"], &["internal-passport", "taxpayer-card"], &["foreign-passport", "student-id-card"]];

async fn take(app: &TestApp, operator: &str, codes: &[String], world: &mut World, step: &Step) {
    world.made += 1;
    let n = world.made;
    match *step {
        Step::NewPartner => {
            if let Some(code) = codes.get(NEXT_CODE.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) {
                world.partners.push(app.onboard_partner(code, &format!("ТОВ «Партнер № {n}»")).await);
            }
        }
        Step::NewBranch(p) => {
            let Some(partner) = pick(&world.partners, p) else { return };
            let email = format!("branch{n}@example.com");
            let (status, body) = app.create_branch(partner, &format!("Відділення № {n}"), &email).await;
            if status == StatusCode::CREATED {
                let id = body["branch_id"].as_str().expect("branch id").to_string();
                world.branches.push((p % world.partners.len(), id, email, false));
            }
        }
        Step::ConfirmBranch(b) => {
            let Some((_, id, email, false)) = pick(&world.branches, b).cloned() else { return };
            app.confirm_branch_mailbox(&id, &email).await;
            let i = b % world.branches.len();
            world.branches[i].3 = true;
        }
        Step::ChangeBranchEmail(b) => {
            let Some((p, id, _, _)) = pick(&world.branches, b).cloned() else { return };
            let email = format!("changed{n}@example.com");
            let (status, _) =
                app.put(&format!("/api/v1/partner/branches/{id}/email"), &world.partners[p].token, json!({"email": email})).await;
            if status.is_success() {
                let i = b % world.branches.len();
                world.branches[i] = (p, id, email, false);
            }
        }
        Step::NewService(b, d) => {
            let Some((p, id, _, _)) = pick(&world.branches, b).cloned() else { return };
            let (status, body) = app.create_service(&world.partners[p], &id, &format!("для послуги № {n}"), DOCUMENT_SETS[d]).await;
            if status == StatusCode::CREATED {
                world.services.push((p, body["service_id"].as_str().expect("service id").to_string()));
            }
        }
        Step::IssueQr(s) => {
            let Some((p, id)) = pick(&world.services, s).cloned() else { return };
            let (status, qr) = app.post(&format!("/api/v1/partner/services/{id}/qr"), Some(&world.partners[p].token), json!({})).await;
            if status == StatusCode::CREATED {
                world.links.push(qr["link"].as_str().expect("link").to_string());
            }
        }
        Step::RevokeQr(s) => {
            let Some((p, id)) = pick(&world.services, s).cloned() else { return };
            let _ =
                app.client.delete(app.url(&format!("/api/v1/partner/services/{id}/qr"))).bearer_auth(&world.partners[p].token).send().await;
        }
        Step::DeactivateService(s) => {
            let Some((p, id)) = pick(&world.services, s).cloned() else { return };
            let _ =
                app.client.delete(app.url(&format!("/api/v1/partner/services/{id}"))).bearer_auth(&world.partners[p].token).send().await;
        }
        Step::Scan(l, c) => {
            let Some(link) = pick(&world.links, l).cloned() else { return };
            let citizen = [citizens::maryana(), citizens::yevhen(), citizens::ihor(), citizens::olha()][c].clone();
            let token = app.citizen_session(&citizen.0).await;
            let (status, share) = app.scan(&token, &link).await;
            if status == StatusCode::CREATED {
                world.shares.push((token, share["share_request_id"].as_str().expect("id").to_string(), citizen, 0));
            }
        }
        Step::Advance(s) => {
            if world.shares.is_empty() {
                return;
            }
            let i = s % world.shares.len();
            let (token, id, citizen, stage) = world.shares[i].clone();
            let base = format!("/api/v1/citizen/share-requests/{id}");
            let (status, _) = match stage {
                0 => app.verify_photo(&token, &id.to_string()).await,
                1 => app.post(&format!("{base}/confirmation"), Some(&token), json!({"code": citizen.1})).await,
                2 => app.post(&format!("{base}/send"), Some(&token), json!({})).await,
                _ => return,
            };
            if status.is_success() {
                world.shares[i].3 += 1;
            }
        }
        Step::Decline(s) => {
            let Some((token, id, _, _)) = pick(&world.shares, s).cloned() else { return };
            let _ = app.post(&format!("/api/v1/citizen/share-requests/{id}/decline"), Some(&token), json!({})).await;
        }
        Step::Suspend(p) => {
            let Some(partner) = pick(&world.partners, p) else { return };
            let path = format!("/api/v1/operator/partners/{}/suspension", partner.partner_id);
            let _ = app.post(&path, Some(operator), json!({"reason": "перевірка скарги"})).await;
        }
        Step::Reinstate(p) => {
            let Some(partner) = pick(&world.partners, p) else { return };
            let path = format!("/api/v1/operator/partners/{}/suspension", partner.partner_id);
            let _ = app.client.delete(app.url(&path)).bearer_auth(operator).send().await;
        }
    }
}

/// Random histories of commands: the cabinet views built as the events came equal the views
/// rebuilt from the first event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_rebuilt_from_scratch_equal_views_built_incrementally() {
    let app = spawn_app().await;
    let operator = app.operator_session().await;
    let codes = edrpou_codes(400);
    let handle = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(ProptestConfig { cases: 10, max_shrink_iters: 20, ..ProptestConfig::default() });
    let histories = (Just(Step::NewPartner), proptest::collection::vec(step(), 5..30)).prop_map(|(first, mut rest)| {
        rest.insert(0, first);
        rest
    });
    let result = tokio::task::block_in_place(|| {
        runner.run(&histories, |history| {
            handle.block_on(async {
                let mut world = World::default();
                for step in &history {
                    take(&app, &operator, &codes, &mut world, step).await;
                }
                caught_up(&app).await;
                let incremental = cabinet_dump(&app).await;
                rebuild(&app.pool, &CabinetViews, |_| {}).await.map_err(|e| TestCaseError::fail(e.to_string()))?;
                let rebuilt = cabinet_dump(&app).await;
                prop_assert!(rebuilt == incremental, "rebuilt and incremental views differ:\n{}", differences(&incremental, &rebuilt));
                Ok(())
            })
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    app.shutdown().await;
}

/// The rows only one of two dumps has, table by table.
fn differences(incremental: &Value, rebuilt: &Value) -> String {
    let mut out = String::new();
    for (table, rows) in incremental.as_object().into_iter().flatten() {
        let (a, b) = (rows.as_array().cloned().unwrap_or_default(), rebuilt[table].as_array().cloned().unwrap_or_default());
        for row in a.iter().filter(|r| !b.contains(r)) {
            out.push_str(&format!("{table} incremental only: {row}\n"));
        }
        for row in b.iter().filter(|r| !a.contains(r)) {
            out.push_str(&format!("{table} rebuilt only: {row}\n"));
        }
    }
    out
}

/// A stored event the cabinet cannot decode: written straight into the log, as a buggy or
/// newer writer would.
async fn poison_the_log(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
         VALUES ('Partner', $1, 1, 'Registered', '1.0', '{\"Registered\": {\"kind\": 42}}', '{}') RETURNING global_id",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .fetch_one(&app.pool)
    .await
    .expect("insert the event")
}

#[tokio::test]
async fn an_event_a_projection_cannot_apply_halts_it_alone_and_health_says_so() {
    let app = spawn_app().await;
    let (status, health) = app.get("/health", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["status"], "ok", "{health}");

    let partner = app.onboard_partner("45172831", "ТОВ «Готель „Палаццо“»").await;
    caught_up(&app).await;
    let poisoned = poison_the_log(&app).await;
    let operator = app.operator_session().await;
    let cabinet = eventually(Duration::from_secs(30), "the cabinet views to halt", || async {
        let (_, all) = app.get("/api/v1/operator/projections", Some(&operator)).await;
        all.as_array()?.iter().find(|p| p["name"] == "cabinet_views" && p["halted"] == true).cloned()
    })
    .await;
    assert_eq!(cabinet["failed_global_id"], poisoned, "{cabinet}");
    assert!(cabinet["last_error"].as_str().is_some_and(|e| e.contains("does not decode")), "{cabinet}");

    let (status, health) = app.get("/health", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["status"], "degraded", "{health}");
    let states: Vec<(&str, &str)> = health["projections"]
        .as_array()
        .expect("projections")
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["state"].as_str().unwrap()))
        .collect();
    // The cabinet stops at the event; every other follower goes on (the audit trail records the
    // event as one it cannot read).
    let expected: Vec<(&str, &str)> = diia_qr_projections::projection_names()
        .into_iter()
        .map(|name| (name, if name == "cabinet_views" { "halted" } else { "running" }))
        .collect();
    assert_eq!(states, expected);
    // The public health page names no error: that is for operators.
    assert!(!health.to_string().contains("decode"), "{health}");
    let (status, _) = app.get("/api/v1/operator/projections", Some(&partner.token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a partner's session is no operator's");

    // The mail reactor goes on past the event: a new branch still gets its confirmation letter.
    let (status, branch) = app.create_branch(&partner, "Готель «Палаццо»", "reception@palazzo.example").await;
    assert_eq!(status, StatusCode::CREATED, "{branch}");
    app.wait_for_mail(&format!("branch-{}", branch["branch_id"].as_str().unwrap())).await;
    // The halted view stays where it stopped: never a silent skip past the event.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, branches) = app.get("/api/v1/partner/branches", Some(&partner.token)).await;
    assert_eq!(branches["branches"].as_array().map(Vec::len), Some(0), "{branches}");

    // A rebuild meets the same event, says which, and leaves the view as it was.
    let before = cabinet_dump(&app).await;
    let refused = rebuild(&app.pool, &CabinetViews, |_| {}).await;
    assert!(matches!(refused, Err(RebuildError::Apply { global_id, .. }) if global_id == poisoned), "{refused:?}");
    assert_eq!(cabinet_dump(&app).await, before);

    // The command line shows the same.
    let out = Command::new(engine_binary())
        .args(["projections", "status", "--database-url", &app.database_url])
        .output()
        .expect("diia-qr projections status");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.lines().any(|l| l.starts_with("cabinet_views") && l.contains(&format!("ЗУПИНЕНА на події {poisoned}"))), "{text}");
    assert!(text.lines().any(|l| l.starts_with("mail_outbox") && l.contains("працює")), "{text}");
    app.shutdown().await;
}

#[tokio::test]
async fn the_command_line_reports_and_rebuilds_beside_a_running_server() {
    let app = spawn_app().await;
    let qr = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    caught_up(&app).await;
    let events = app.event_count().await;
    let status = |args: &[&str]| {
        Command::new(engine_binary()).arg("projections").args(args).args(["--database-url", &app.database_url]).output().expect("diia-qr")
    };
    let out = status(&["status", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let all: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    for p in all.as_array().expect("a list") {
        assert_eq!(p["lag_events"], 0, "{p}");
        assert_eq!(p["last_error"], Value::Null, "{p}");
    }
    let names: Vec<&str> = all.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, diia_qr_projections::projection_names());

    let out = status(&["rebuild"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains(&format!("Проєкцію «cabinet_views» перебудовано: {events} подій")), "{text}");
    let (status_code, services) = app.get("/api/v1/partner/services", Some(&qr.partner.token)).await;
    assert_eq!(status_code, StatusCode::OK);
    assert_eq!(services["services"].as_array().map(Vec::len), Some(1), "{services}");

    let out = status(&["rebuild", "mail_outbox"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("не відтворюються з журналу"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = status(&["rebuild", "no_such_view"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("немає проєкції «no_such_view»"));
    app.shutdown().await;
}

/// What a page waits for after its own command: the view's checkpoint past that aggregate's
/// events, whatever else the log holds.
#[tokio::test]
async fn a_view_is_caught_up_on_an_aggregate_once_it_applied_that_aggregates_events() {
    use diia_qr_projections::log::caught_up_on;
    let app = spawn_app().await;
    let partner = app.onboard_partner("45172831", "ТОВ «Готель „Палаццо“»").await;
    let written = [("Partner", partner.partner_id.clone())];
    // A projection that never ran has applied nothing: the partner's events are beyond it.
    assert!(!caught_up_on(&app.pool, "no-such-projection", &written).await.unwrap());
    // The cabinet's views get there as they follow the log.
    eventually(Duration::from_secs(10), "the cabinet views past the partner's events", || async {
        caught_up_on(&app.pool, CabinetViews.name(), &written).await.unwrap().then_some(())
    })
    .await;
    // An aggregate with no events holds nothing back.
    assert!(caught_up_on(&app.pool, "no-such-projection", &[("Branch", uuid::Uuid::new_v4().to_string())]).await.unwrap());
    app.shutdown().await;
}
