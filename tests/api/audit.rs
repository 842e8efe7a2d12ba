//! The audit trail as its users meet it: checkpoints and proofs that verify with public tools,
//! exports that `diia-qr audit verify` accepts untouched and refuses with one character changed,
//! a line dropped or two lines swapped, naming where.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use diia_qr_projections::audit::{verify_consistency, verify_inclusion, Hash};
use diia_qr_projections::log::projection_status;
use reqwest::StatusCode;
use serde_json::{json, Value};

use diia_qr_tests::{citizens, engine_binary, eventually, spawn_app, temp_dir, TestApp};

/// Waits until the audit trail has recorded every committed event.
async fn trail_caught_up(app: &TestApp) {
    eventually(Duration::from_secs(30), "the audit trail to catch up", || async {
        let all = projection_status(&app.pool, &["audit_trail"]).await.ok()?;
        all.iter().all(|p| p.lag_events == 0 && !p.degraded()).then_some(())
    })
    .await;
}

/// A share sent and delivered: the whole consent history of one citizen with one partner.
async fn delivered_share(app: &TestApp) -> (diia_qr_tests::LiveQr, String) {
    let qr = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let (citizen, id) = app.consented_share(&qr.link, &citizens::maryana()).await;
    let (status, body) = app.post(&format!("/api/v1/citizen/share-requests/{id}/send"), Some(&citizen), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.wait_for_share_status(&citizen, &id, "delivered").await;
    trail_caught_up(app).await;
    (qr, id)
}

async fn export_text(app: &TestApp, path: &str, token: &str) -> String {
    let response = app.client.get(app.url(path)).bearer_auth(token).send().await.expect("GET the export");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/x-ndjson"));
    response.text().await.expect("the export's text")
}

struct Verifier {
    dir: PathBuf,
    ca: PathBuf,
    log_key: String,
}

impl Verifier {
    async fn of(app: &TestApp) -> Self {
        let dir = temp_dir("audit");
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, &app.app.as_ref().expect("in process").ca_pem).unwrap();
        let (status, checkpoint) = app.get("/api/v1/audit/checkpoint", None).await;
        assert_eq!(status, StatusCode::OK, "{checkpoint}");
        Self { dir, ca, log_key: checkpoint["log_key"].as_str().unwrap().to_string() }
    }

    /// `diia-qr audit verify` on `text`, pinned to the service's CA and log key.
    fn verify(&self, name: &str, text: &str) -> (bool, String) {
        let file = self.dir.join(name);
        std::fs::write(&file, text).unwrap();
        let out = Command::new(engine_binary())
            .args(["audit", "verify"])
            .arg(&file)
            .arg("--ca")
            .arg(&self.ca)
            .args(["--log-key", &self.log_key])
            .output()
            .expect("diia-qr audit verify");
        (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    }
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_string).collect()
}

fn joined(lines: &[String]) -> String {
    lines.join("\n") + "\n"
}

#[tokio::test]
async fn an_export_verifies_untouched_and_any_change_is_named() {
    let app = spawn_app().await;
    delivered_share(&app).await;
    let operator = app.operator_session().await;
    let text = export_text(&app, "/api/v1/operator/audit-export", &operator).await;
    let verifier = Verifier::of(&app).await;
    let (ok, said) = verifier.verify("audit.jsonl", &text);
    assert!(ok, "{said}");
    assert!(said.contains("1 підписів згоди перевірено"), "{said}");

    let original = lines(&text);
    let header: Value = serde_json::from_str(&original[0]).unwrap();
    assert_eq!(header["format"], "diia-qr-audit/1");
    let entries: Vec<Value> = original[1..].iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    let kinds: Vec<&str> = entries.iter().map(|e| e["entry"]["kind"].as_str().unwrap()).collect();
    for kind in [
        "PartnerRegistered",
        "BranchCreated",
        "ServiceCreated",
        "ShareRequestOpened",
        "ShareRequestConsentSigned",
        "ShareRequestSent",
        "ShareRequestDelivered",
        "access.export",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    // No personal value in clear in any entry: the citizen's number, the head's, the mailbox.
    let (rnokpp, _) = citizens::maryana();
    for entry in &entries {
        let text = entry["entry"].to_string();
        for personal in [rnokpp.as_str(), "3124502180", "reception@palazzo.example"] {
            assert!(!text.contains(personal), "{personal} in {text}");
        }
    }

    // One character changed inside an entry: that entry is named.
    let consent = entries.iter().position(|e| e["entry"]["kind"] == "ShareRequestConsentSigned").unwrap() + 1;
    let mut altered = original.clone();
    altered[consent] = altered[consent].replacen("ShareRequestConsentSigned", "ShareRequestConsentSignet", 1);
    let (ok, said) = verifier.verify("altered.jsonl", &joined(&altered));
    assert!(!ok);
    assert!(said.contains(&format!("рядок {}", consent + 1)) && said.contains("змінено"), "{said}");

    // A line deleted: the missing entry is named.
    let mut dropped = original.clone();
    let gone: Value = serde_json::from_str(&dropped.remove(3)).unwrap();
    let (ok, said) = verifier.verify("dropped.jsonl", &joined(&dropped));
    assert!(!ok);
    assert!(said.contains(&format!("бракує запису №{}", gone["index"])), "{said}");

    // Two lines swapped: the order is named.
    let mut swapped = original.clone();
    swapped.swap(4, 5);
    let (ok, said) = verifier.verify("swapped.jsonl", &joined(&swapped));
    assert!(!ok);
    assert!(said.contains("рядок 6") && said.contains("порядок"), "{said}");

    // A consent signature replaced by another's: the signature is refused.
    let mut forged = original.clone();
    let mut record: Value = serde_json::from_str(&forged[consent]).unwrap();
    record["evidence"]["consent"]["statement"] = json!(format!("{} ", record["evidence"]["consent"]["statement"].as_str().unwrap()));
    forged[consent] = record.to_string();
    let (ok, said) = verifier.verify("forged.jsonl", &joined(&forged));
    assert!(!ok);
    assert!(said.contains("текст заяви не той"), "{said}");

    // The header's checkpoint under another key: the pinned key refuses it.
    let other = diia_qr_projections::audit::LogKey::generate(header["origin"].as_str().unwrap()).unwrap();
    let mut rekeyed = original.clone();
    let mut head = header.clone();
    head["log_key"] = json!(other.verifier_key());
    rekeyed[0] = head.to_string();
    let (ok, said) = verifier.verify("rekeyed.jsonl", &joined(&rekeyed));
    assert!(ok, "the pinned key decides, not the file's: {said}");
    app.shutdown().await;
}

#[tokio::test]
async fn a_partners_export_holds_its_own_entries_and_verifies_alone() {
    let app = spawn_app().await;
    let (qr, _) = delivered_share(&app).await;
    // Another partner, with its own history.
    let codes: Vec<String> =
        (40_000_000u32..).map(|c| c.to_string()).filter(|c| diia_qr_domain::identifiers::Edrpou::parse(c).is_ok()).take(1).collect();
    let other = app.onboard_partner(&codes[0], "ТОВ «Сусід»").await;
    trail_caught_up(&app).await;

    let text = export_text(&app, "/api/v1/partner/audit-export", &qr.partner.token).await;
    let verifier = Verifier::of(&app).await;
    let (ok, said) = verifier.verify("partner.jsonl", &text);
    assert!(ok, "{said}");
    let all = lines(&text);
    let entries: Vec<Value> = all[1..].iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(entries.len() > 5);
    assert!(entries.iter().all(|e| e["entry"]["partner_id"] == qr.partner.partner_id.as_str()), "only its own entries");
    let (_, header) = (0, serde_json::from_str::<Value>(&all[0]).unwrap());
    assert_eq!(header["filter"]["partner_id"], qr.partner.partner_id.as_str());

    // A line dropped from the middle of a filtered export: the chain names it.
    let mut dropped = all.clone();
    let gone: Value = serde_json::from_str(&dropped.remove(4)).unwrap();
    let (ok, said) = verifier.verify("partner-dropped.jsonl", &joined(&dropped));
    assert!(!ok);
    assert!(said.contains(&format!("бракує запису №{}", gone["index"])), "{said}");
    // The last line dropped: the sealed list of entries shows it.
    let mut truncated = all.clone();
    truncated.pop();
    let (ok, said) = verifier.verify("partner-truncated.jsonl", &joined(&truncated));
    assert!(!ok);
    assert!(said.contains("записи вилучено або додано"), "{said}");

    let theirs = export_text(&app, "/api/v1/partner/audit-export", &other.token).await;
    assert!(!theirs.contains(&qr.partner.partner_id), "another partner's export names none of the first's entries");
    // A partner cannot ask for another partner's entries, nor use the operator's export.
    let response = app
        .client
        .get(app.url(&format!("/api/v1/operator/audit-export?partner={}", qr.partner.partner_id)))
        .bearer_auth(&other.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    app.shutdown().await;
}

#[tokio::test]
async fn a_citizens_export_finds_their_requests_by_number_alone() {
    let app = spawn_app().await;
    let (_, share) = delivered_share(&app).await;
    let operator = app.operator_session().await;
    let (rnokpp, _) = citizens::maryana();
    let text = export_text(&app, &format!("/api/v1/operator/audit-export?rnokpp={rnokpp}"), &operator).await;
    let verifier = Verifier::of(&app).await;
    let (ok, said) = verifier.verify("citizen.jsonl", &text);
    assert!(ok, "{said}");
    let entries: Vec<Value> = text.lines().skip(1).map(|l| serde_json::from_str(l).unwrap()).collect();
    let kinds: Vec<&str> = entries.iter().map(|e| e["entry"]["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["ShareRequestOpened", "ShareRequestPhotoVerified", "ShareRequestConsentSigned", "ShareRequestSent", "ShareRequestDelivered"]
    );
    assert!(entries.iter().all(|e| e["entry"]["share_request_id"] == share.as_str()), "only the citizen's request");

    let other = citizens::olha().0;
    let none = export_text(&app, &format!("/api/v1/operator/audit-export?rnokpp={other}"), &operator).await;
    assert_eq!(none.lines().count(), 1, "only the header: {none}");
    let (status, problem) = app.get("/api/v1/operator/audit-export?rnokpp=123", Some(&operator)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    app.shutdown().await;
}

fn hash(text: &Value) -> Hash {
    STANDARD.decode(text.as_str().unwrap()).unwrap().try_into().unwrap()
}

#[tokio::test]
async fn checkpoints_and_proofs_verify_with_public_tools() {
    let app = spawn_app().await;
    let qr = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    trail_caught_up(&app).await;
    let (status, first) = app.get("/api/v1/audit/checkpoint", None).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    app.consented_share(&qr.link, &citizens::yevhen()).await;
    trail_caught_up(&app).await;
    let (_, second) = app.get("/api/v1/audit/checkpoint", None).await;
    let (m, n) = (first["size"].as_u64().unwrap(), second["size"].as_u64().unwrap());
    assert!(n > m, "{first} {second}");

    // Every entry of the newer tree is in it.
    for index in [0, m - 1, n - 1] {
        let (status, proof) = app.get(&format!("/api/v1/audit/proofs/inclusion?index={index}&size={n}"), None).await;
        assert_eq!(status, StatusCode::OK, "{proof}");
        let path: Vec<Hash> = proof["proof"].as_array().unwrap().iter().map(hash).collect();
        verify_inclusion(&hash(&proof["leaf_hash"]), index, n, &path, &hash(&second["root"])).expect("the entry is in the tree");
    }
    // The older tree is the beginning of the newer: nothing was rewritten in between.
    let (_, proof) = app.get(&format!("/api/v1/audit/proofs/consistency?from={m}&to={n}"), None).await;
    let path: Vec<Hash> = proof["proof"].as_array().unwrap().iter().map(hash).collect();
    verify_consistency(m, n, &hash(&first["root"]), &hash(&second["root"]), &path).expect("consistent");
    // Beyond the trail: a problem, not a 500.
    let (status, problem) = app.get(&format!("/api/v1/audit/proofs/inclusion?index=0&size={}", n + 100), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, _) = app.get("/api/v1/audit/proofs/consistency?from=5&to=2", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The checkpoint's body is sealed: `openssl cms -verify` accepts it against the published CA.
    let dir = temp_dir("checkpoint");
    let body = second["note"].as_str().unwrap().split_once("\n\n").unwrap().0.to_string() + "\n";
    write(&dir.join("checkpoint.txt"), body.as_bytes());
    write(&dir.join("checkpoint.p7s"), &STANDARD.decode(second["checkpoint_cms"].as_str().unwrap()).unwrap());
    write(&dir.join("ca.pem"), app.app.as_ref().unwrap().ca_pem.as_bytes());
    let status = Command::new("openssl")
        .args(["cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any", "-out", "/dev/null", "-in"])
        .arg(dir.join("checkpoint.p7s"))
        .arg("-content")
        .arg(dir.join("checkpoint.txt"))
        .arg("-CAfile")
        .arg(dir.join("ca.pem"))
        .status()
        .expect("openssl");
    assert!(status.success());

    // The trail refuses to be rewritten, whoever asks.
    let refused = sqlx::query("UPDATE audit_entries SET kind = 'x' WHERE idx = 0").execute(&app.pool).await;
    assert!(refused.is_err_and(|e| e.to_string().contains("append-only")));
    app.shutdown().await;
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

#[tokio::test]
async fn consent_history_replays_the_log_as_of_any_moment() {
    let app = spawn_app().await;
    let qr = app.live_qr("для поселення у готель", &["internal-passport"]).await;
    let (citizen, id) = app.consented_share(&qr.link, &citizens::maryana()).await;
    trail_caught_up(&app).await;
    let before_send = chrono::Utc::now();
    let (status, body) = app.post(&format!("/api/v1/citizen/share-requests/{id}/send"), Some(&citizen), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.wait_for_share_status(&citizen, &id, "delivered").await;
    trail_caught_up(&app).await;

    let as_of = before_send.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let (status, then) = app.get(&format!("/api/v1/partner/history?as_of={}", as_of.replace('+', "%2B")), Some(&qr.partner.token)).await;
    assert_eq!(status, StatusCode::OK, "{then}");
    let share = &then["shares"][0];
    assert_eq!(share["share_request_id"], id.as_str());
    assert_eq!(share["status"], "consented", "{then}");
    assert_eq!(share["consent"]["signature_valid"], true, "{then}");
    assert_eq!(share["documents_sent"], json!([]));

    let (_, now) = app.get("/api/v1/partner/history", Some(&qr.partner.token)).await;
    let share = &now["shares"][0];
    assert_eq!(share["status"], "delivered", "{now}");
    assert_eq!(share["documents_sent"], json!(["internal-passport"]));
    let events: Vec<&str> = share["timeline"].as_array().unwrap().iter().map(|t| t["event"].as_str().unwrap()).collect();
    assert_eq!(events.last(), Some(&"ShareRequestDelivered"), "{events:?}");

    // Before the request existed, there is nothing.
    let (_, none) = app.get("/api/v1/partner/history?as_of=2020-01-01T00:00:00Z", Some(&qr.partner.token)).await;
    assert_eq!(none["shares"], json!([]));

    // An operator replays the citizen's history; that read is in the trail.
    let operator = app.operator_session().await;
    let (rnokpp, _) = citizens::maryana();
    let (status, theirs) = app.get(&format!("/api/v1/operator/history?rnokpp={rnokpp}"), Some(&operator)).await;
    assert_eq!(status, StatusCode::OK, "{theirs}");
    assert_eq!(theirs["shares"].as_array().map(Vec::len), Some(1));
    let recorded: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit_entries WHERE kind = 'access.history'").fetch_one(&app.pool).await.unwrap();
    assert_eq!(recorded, 1);
    let (status, _) = app.get("/api/v1/operator/history", Some(&operator)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The same from the command line.
    let out = Command::new(engine_binary())
        .args(["history", "--partner", &qr.partner.partner_id, "--as-of", &as_of, "--database-url", &app.database_url, "--data-dir"])
        .arg(&app.data_dir)
        .output()
        .expect("diia-qr history");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("запитів 1") && text.contains("Consented") && text.contains("підпис дійсний"), "{text}");
    assert!(!text.contains("ShareRequestSent"), "as of before the send: {text}");
    app.shutdown().await;
}

#[tokio::test]
async fn a_partner_downloads_a_received_copy_again_exactly_as_mailed_and_it_is_audited() {
    let app = spawn_app().await;
    let (qr, share) = delivered_share(&app).await;
    let (status, list) = app.get(&format!("/api/v1/partner/shares/{share}/copies"), Some(&qr.partner.token)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let copy = &list["copies"][0];
    assert_eq!(copy["document_type"], "internal-passport");
    let copy_id = copy["copy_id"].as_str().unwrap();
    let download = |part: &'static str| {
        let url = app.url(&format!("/api/v1/partner/shares/{share}/copies/{copy_id}.{part}"));
        let request = app.client.get(url).bearer_auth(&qr.partner.token);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.bytes().await.unwrap().to_vec()
        }
    };
    let (pdf, p7s) = (download("pdf").await, download("p7s").await);

    // The same PDF as the letter carried, and a seal `openssl` accepts.
    let dir = temp_dir("download");
    let letter = app.wait_for_mail(&format!("share-{share}")).await;
    let (_, attachments) = diia_qr_tests::unpack_mail(&letter, &dir);
    let mailed = attachments.iter().find(|(name, _)| name.ends_with(".pdf")).expect("a PDF in the letter");
    assert!(std::fs::read(dir.join(&mailed.0)).unwrap() == pdf, "the downloaded PDF is the mailed one");
    write(&dir.join("again.pdf"), &pdf);
    write(&dir.join("again.p7s"), &p7s);
    write(&dir.join("ca.pem"), app.app.as_ref().unwrap().ca_pem.as_bytes());
    let verified = Command::new("openssl")
        .args(["cms", "-verify", "-binary", "-inform", "DER", "-cades", "-purpose", "any", "-out", "/dev/null", "-in"])
        .arg(dir.join("again.p7s"))
        .arg("-content")
        .arg(dir.join("again.pdf"))
        .arg("-CAfile")
        .arg(dir.join("ca.pem"))
        .status()
        .unwrap();
    assert!(verified.success());
    let recorded: Vec<String> = sqlx::query_scalar("SELECT entry FROM audit_entries WHERE kind = 'access.download' ORDER BY idx")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(recorded.len(), 2, "each download is in the trail");
    assert!(recorded[0].contains(copy_id) && recorded[0].contains(&share));
    // A search is a read too: in the trail, with the name searched for only as a commitment.
    let (status, found) =
        app.get("/api/v1/partner/documents?q=%D0%87%D0%B6%D0%B0%D0%BA%D0%B5%D0%B2%D0%B8%D1%87", Some(&qr.partner.token)).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["documents"].as_array().map(Vec::len), Some(1), "{found}");
    let searches: Vec<String> =
        sqlx::query_scalar("SELECT entry FROM audit_entries WHERE kind = 'access.search'").fetch_all(&app.pool).await.unwrap();
    assert_eq!(searches.len(), 1);
    assert!(searches[0].contains("\"results\":1") && !searches[0].contains("Їжакевич"), "{}", searches[0]);

    // Nobody else's: another partner, a wrong copy, a malformed name.
    let codes: Vec<String> =
        (40_000_000u32..).map(|c| c.to_string()).filter(|c| diia_qr_domain::identifiers::Edrpou::parse(c).is_ok()).take(1).collect();
    let other = app.onboard_partner(&codes[0], "ТОВ «Сусід»").await;
    for (token, path) in [
        (&other.token, format!("/api/v1/partner/shares/{share}/copies/{copy_id}.pdf")),
        (&other.token, format!("/api/v1/partner/shares/{share}/copies")),
        (&qr.partner.token, format!("/api/v1/partner/shares/{share}/copies/{}.pdf", uuid::Uuid::new_v4())),
        (&qr.partner.token, format!("/api/v1/partner/shares/{share}/copies/{copy_id}.exe")),
    ] {
        let (status, problem) = app.get(&path, Some(token)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {problem}");
    }
    app.shutdown().await;
}

/// The follower as it was before batches: one event per transaction.
struct OneEventAtATime(diia_qr_projections::audit_trail::AuditTrail);

#[async_trait::async_trait]
impl diia_qr_projections::log::Projection for OneEventAtATime {
    fn name(&self) -> &'static str {
        "audit_trail"
    }
    fn batch_size(&self) -> i64 {
        1
    }
    async fn apply(
        &self,
        conn: &mut sqlx::PgConnection,
        event: &diia_qr_projections::log::StoredEvent,
    ) -> Result<(), diia_qr_projections::log::ProjectionError> {
        self.0.apply(conn, event).await
    }
}

/// Copies a table between two databases of the cluster, rows as they are.
async fn copy_table(from: &sqlx::PgPool, to: &sqlx::PgPool, table: &str) {
    use futures_util::TryStreamExt;
    use sqlx::postgres::PgPoolCopyExt;
    let rows: Vec<_> = from.copy_out_raw(&format!("COPY {table} TO STDOUT")).await.unwrap().try_collect().await.expect("the rows out");
    let mut sink = to.copy_in_raw(&format!("COPY {table} FROM STDIN")).await.unwrap();
    for chunk in rows {
        sink.send(chunk).await.unwrap();
    }
    sink.finish().await.unwrap();
}

/// Everything the trail wrote, a line a row.
async fn trail_dump(pool: &sqlx::PgPool) -> Vec<String> {
    let mut lines = Vec::new();
    for query in [
        "SELECT concat_ws(' | ', idx, entry, encode(leaf_hash, 'hex'), kind, partner_id, share_request_id, source_event) FROM audit_entries ORDER BY idx",
        "SELECT concat_ws(' | ', level, idx, encode(hash, 'hex')) FROM audit_nodes ORDER BY level, idx",
        "SELECT concat_ws(' | ', idx, encode(citizen_digest, 'hex'), scope) FROM audit_citizen_entries ORDER BY idx",
        "SELECT concat_ws(' | ', aggregate_id, encode(citizen_digest, 'hex'), partner_id) FROM audit_owners ORDER BY aggregate_id",
        "SELECT concat_ws(' | ', scope, encode(salt, 'hex')) FROM audit_salts ORDER BY scope",
        "SELECT concat_ws(' | ', 'size', size) FROM audit_head",
    ] {
        let rows: Vec<String> = sqlx::query_scalar(query).fetch_all(pool).await.unwrap_or_else(|e| panic!("{query}: {e}"));
        lines.extend(rows);
    }
    lines
}

/// The follower writes a batch of events in a few statements. The entries, their subtrees,
/// chains, owners and citizen links must be those that one event at a time writes, over a log
/// with several partners' and citizens' requests and an erasure in the middle.
#[tokio::test]
async fn the_trail_written_in_batches_equals_the_trail_written_one_event_at_a_time() {
    use diia_qr_projections::keys::{KeyGenerations, KeyRing};
    let app = spawn_app().await;
    let (qr, _) = delivered_share(&app).await;
    let (citizen, second) = app.consented_share(&qr.link, &citizens::yevhen()).await;
    app.post(&format!("/api/v1/citizen/share-requests/{second}/send"), Some(&citizen), json!({})).await;
    app.wait_for_share_status(&citizen, &second, "delivered").await;
    let engine = app.app.as_ref().unwrap().engine.clone();
    app.clock.advance(chrono::Duration::days(30) + chrono::Duration::minutes(1));
    assert_eq!(engine.erase_overdue().await.unwrap(), 2, "both requests are past their retention");
    // After the erasure: another citizen, and a request of the same citizen again.
    app.consented_share(&qr.link, &citizens::ihor()).await;
    app.consented_share(&qr.link, &citizens::maryana()).await;
    trail_caught_up(&app).await;
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(&app.pool).await.unwrap();

    let keys = KeyRing::derive(b"one key for both trails", KeyGenerations::default()).unwrap();
    let mut dumps = Vec::new();
    for one_at_a_time in [true, false] {
        let (_, pool) = diia_qr_tests::fresh_database().await;
        for table in ["events", "share_data_keys", "audit_salts"] {
            copy_table(&app.pool, &pool, table).await;
        }
        // The same salt for each scope in both trails (an erased scope's would be a throwaway,
        // random each time): the commitments then compare.
        sqlx::query("UPDATE audit_salts SET salt = sha256(convert_to(scope, 'UTF8')), erased_at = NULL").execute(&pool).await.unwrap();
        let trail = diia_qr_projections::audit_trail::AuditTrail::new(&keys);
        let applied = if one_at_a_time {
            diia_qr_projections::log::catch_up(&pool, &OneEventAtATime(trail)).await
        } else {
            diia_qr_projections::log::catch_up(&pool, &trail).await
        };
        assert_eq!(applied.unwrap() as i64, events);
        dumps.push(trail_dump(&pool).await);
    }
    let entries = dumps[1].iter().filter(|l| l.contains(" | {")).count() as i64;
    assert_eq!(entries, events, "one entry per event");
    assert!(dumps[1].iter().any(|l| l.contains("ShareRequestPersonalDataErased")), "the erasure is in the trail");
    for (one, batched) in dumps[0].iter().zip(&dumps[1]) {
        assert_eq!(one, batched);
    }
    assert_eq!(dumps[0].len(), dumps[1].len());
    app.shutdown().await;
}
