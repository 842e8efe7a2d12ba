//! Test harness: one throwaway PostgreSQL cluster per test process (started on first use,
//! stopped by its watchdog when the process ends), a fresh database and data folder per test, and
//! a `TestApp` with one helper per API call a test needs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use diia_qr::config::{Clock, Config, MailConfig};
use diia_qr::embedded_pg::EmbeddedPostgres;
use diia_qr::startup::Application;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

static CLUSTER: OnceLock<EmbeddedPostgres> = OnceLock::new();

pub fn cluster() -> &'static EmbeddedPostgres {
    CLUSTER.get_or_init(|| {
        EmbeddedPostgres::start_throwaway().expect("a throwaway PostgreSQL cluster (are PostgreSQL server binaries installed?)")
    })
}

/// A fresh, migrated database on the shared cluster.
pub async fn fresh_database() -> (String, PgPool) {
    let name = format!("t_{}", Uuid::new_v4().simple());
    let cluster = cluster();
    cluster.create_database(&name).expect("create test database");
    let url = cluster.database_url(&name);
    let pool = PgPool::connect(&url).await.expect("connect to the test database");
    diia_qr_projections::MIGRATOR.run(&pool).await.expect("migrations");
    (url, pool)
}

pub fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("diia-qr-{label}-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

pub struct TestApp {
    pub app: Option<Application>,
    pub base: String,
    pub client: reqwest::Client,
    pub pool: PgPool,
    /// The test database, for the `diia-qr` command's `--database-url`.
    pub database_url: String,
    pub data_dir: PathBuf,
    pub mail_dir: PathBuf,
    /// The engine's clock: `clock.advance(..)` moves time forward instead of sleeping.
    pub clock: Clock,
}

/// A QR that works: a partner that finished onboarding, its confirmed branch and a service with
/// an issued QR.
pub struct LiveQr {
    pub partner: TestPartner,
    pub branch_id: String,
    pub service_id: String,
    pub link: String,
}

/// A partner that finished onboarding.
pub struct TestPartner {
    pub token: String,
    pub partner_id: String,
}

/// Demo citizens of the seeded registry, by РНОКПП.
pub mod citizens {
    use diia_qr::app::dev_services::demo_citizens;

    fn by(surname: &str) -> (String, String) {
        let c = demo_citizens().into_iter().find(|c| c.full_name.contains(surname)).expect("seeded citizen");
        (c.rnokpp.to_string(), c.signature_code)
    }
    /// Passport, foreign passport, taxpayer card, IDP certificate, student card.
    pub fn maryana() -> (String, String) {
        by("Їжакевич")
    }
    /// A parent of two children.
    pub fn yevhen() -> (String, String) {
        by("Ґонта")
    }
    /// A driver with two vehicles.
    pub fn ihor() -> (String, String) {
        by("Олійник")
    }
    /// No driving licence.
    pub fn olha() -> (String, String) {
        by("Єрмоленко")
    }
}

/// The head's КЕП for a legal entity (Ґарбуз Марія Олексіївна, the head the development
/// partner sign-in names), issued by the qualified CA of the development PKI in `data_dir`.
pub fn head_kep(data_dir: &Path, edrpou: &str, organisation_name: &str) -> diia_qr_projections::seal::OpenSslSeal {
    use diia_qr_projections::pki::{DevPki, Subject};
    let (pki, _) = DevPki::load_or_create(&data_dir.join("pki")).expect("the development PKI");
    let identifier = format!("NTRUA-{edrpou}");
    let subject = Subject {
        common_name: "Ґарбуз Марія Олексіївна",
        surname: Some("Ґарбуз"),
        given_name: Some("Марія Олексіївна"),
        title: Some("Директор"),
        organisation: Some(organisation_name),
        serial_number: Some("TINUA-3124502180"),
        organization_identifier: Some(&identifier),
    };
    let (key, cert) = pki.qualified.issue_new_key(&subject, 30).expect("a КЕП");
    diia_qr_projections::seal::OpenSslSeal::new(key, cert, pki.qualified_chain())
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let (url, pool) = fresh_database().await;
    let data_dir = temp_dir("app");
    let mail_dir = data_dir.join("outbox");
    let mut config = Config::with_data_dir(data_dir.clone());
    config.port = 0;
    config.database_url = Some(url.clone());
    config.mail = MailConfig::Folder(mail_dir.clone());
    config.delivery_first_retry_ms = 100;
    config.clock = Clock::shiftable();
    // The helpers sign in through the development sign-ins; КЕП sign-in has its own tests.
    config.dev_sign_in = true;
    // Tests run from one address; the per-client limits have their own tests, which lower these.
    config.edge.guesses_per_minute = 100_000;
    config.edge.public_per_minute = 100_000;
    adjust(&mut config);
    let clock = config.clock.clone();
    let app = Application::build(config).await.expect("the application starts");
    TestApp { base: app.base_url(), app: Some(app), client: reqwest::Client::new(), pool, database_url: url, data_dir, mail_dir, clock }
}

/// Every row of `tables`, as JSON in a stable order: for comparing two builds of a view.
pub async fn dump_tables(pool: &PgPool, tables: &[&str]) -> Value {
    let mut dump = serde_json::Map::new();
    for table in tables {
        let rows: Value = sqlx::query_scalar(&format!("SELECT coalesce(json_agg(t ORDER BY t::text), '[]') FROM {table} t"))
            .fetch_one(pool)
            .await
            .expect("dump a table");
        dump.insert(table.to_string(), rows);
    }
    Value::Object(dump)
}

/// Polls `check` until it returns `Some`, or fails the test after `timeout`. For effects that
/// happen asynchronously (projections, mail), never for measuring speed.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A response's status and JSON body (problem details included).
pub async fn parts(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("response body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        let mut req = self.client.post(self.url(path)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        parts(req.send().await.expect("POST")).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        parts(self.client.put(self.url(path)).bearer_auth(token).json(&body).send().await.expect("PUT")).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        parts(req.send().await.expect("GET")).await
    }

    pub async fn event_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(&self.pool).await.expect("count events")
    }

    pub async fn partner_session(&self, edrpou: &str, organisation_name: &str) -> String {
        let (status, body) = self
            .post(
                "/api/v1/dev/partner-sessions",
                None,
                json!({
                    "kind": "legal_entity", "edrpou": edrpou, "organisation_name": organisation_name,
                    "head_rnokpp": "3124502180", "head_full_name": "Ґарбуз Марія Олексіївна"
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().expect("token").to_string()
    }

    /// Register, profile, offer, signed application: an active partner.
    pub async fn onboard_partner(&self, edrpou: &str, organisation_name: &str) -> TestPartner {
        let token = self.partner_session(edrpou, organisation_name).await;
        let (status, body) = self.post("/api/v1/partner/registration", Some(&token), json!({})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let partner_id = body["partner_id"].as_str().expect("partner id").to_string();
        let (status, body) = self
            .put(
                "/api/v1/partner/profile",
                &token,
                json!({"email": "director@palazzo.example", "phone": "0671234567", "passport": "123456789"}),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let (_, offer) = self.get("/api/v1/partner/offer", Some(&token)).await;
        let (status, body) = self
            .post("/api/v1/partner/offer-acceptance", Some(&token), json!({"version": offer["version"], "sha256": offer["sha256"]}))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let (status, body) = self.sign_accession_application(&token, edrpou, organisation_name).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        TestPartner { token, partner_id }
    }

    /// The head's КЕП for a legal entity, issued by the development PKI's qualified CA: the
    /// head of [`Self::partner_session`] (Ґарбуз Марія Олексіївна), for this organisation.
    pub fn head_kep(&self, edrpou: &str, organisation_name: &str) -> diia_qr_projections::seal::OpenSslSeal {
        head_kep(&self.data_dir, edrpou, organisation_name)
    }

    /// Fetches the accession application's PDF and sends the head's КЕП signature over it.
    pub async fn sign_accession_application(&self, token: &str, edrpou: &str, organisation_name: &str) -> (StatusCode, Value) {
        use base64::prelude::{Engine as _, BASE64_STANDARD};
        use diia_qr_projections::seal::Signer;
        let response = self.client.get(self.url("/api/v1/partner/accession-application.pdf")).bearer_auth(token).send().await.expect("GET");
        assert_eq!(response.status(), StatusCode::OK, "the application's PDF");
        let pdf = response.bytes().await.expect("the PDF");
        let signature = self.head_kep(edrpou, organisation_name).sign_detached(&pdf, chrono::Utc::now()).expect("signed");
        self.post("/api/v1/partner/accession-application", Some(token), json!({"signature_base64": BASE64_STANDARD.encode(signature)}))
            .await
    }

    pub async fn create_branch(&self, partner: &TestPartner, name: &str, email: &str) -> (StatusCode, Value) {
        self.post(
            "/api/v1/partner/branches",
            Some(&partner.token),
            json!({
                "name": name,
                "address": {"region": "Тернопільська область", "locality": "м. Тернопіль", "street": "вул. Руська", "house": "12"},
                "email": email
            }),
        )
        .await
    }

    /// Reads the confirmation letter from the mailbox folder, as the mailbox owner would, and
    /// confirms the branch with its code.
    pub async fn confirm_branch_from_mail(&self, branch_id: &str) {
        let letter = self.wait_for_mail(&format!("branch-{branch_id}")).await;
        self.confirm_with_letter(branch_id, &letter).await;
    }

    /// Confirms `email` as the branch's new mailbox with the letter sent to it.
    pub async fn confirm_branch_mailbox(&self, branch_id: &str, email: &str) {
        let dir = self.mail_dir.clone();
        let to = format!("To: {email}");
        let letter = eventually(Duration::from_secs(30), &format!("the letter to {email}"), || {
            let (dir, to) = (dir.clone(), to.clone());
            async move {
                std::fs::read_dir(&dir).ok()?.filter_map(Result::ok).map(|e| e.path()).find(|p| {
                    p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(&format!("branch-{branch_id}")))
                        && std::fs::read_to_string(p).is_ok_and(|t| t.lines().any(|l| l == to))
                })
            }
        })
        .await;
        self.confirm_with_letter(branch_id, &letter).await;
    }

    async fn confirm_with_letter(&self, branch_id: &str, letter: &Path) {
        let text = mail_text_body(letter);
        let code: String =
            text.split_once("Код підтвердження:").expect("code line").1.trim_start().chars().take_while(char::is_ascii_digit).collect();
        let (status, body) = self.post("/api/v1/branch-email-confirmations", None, json!({"branch_id": branch_id, "code": code})).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }

    /// A confirmed branch of `partner`; returns its id.
    pub async fn confirmed_branch(&self, partner: &TestPartner, email: &str) -> String {
        let (status, body) = self.create_branch(partner, "Готель «Палаццо»", email).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["branch_id"].as_str().expect("branch id").to_string();
        self.confirm_branch_from_mail(&id).await;
        id
    }

    pub async fn create_service(&self, partner: &TestPartner, branch_id: &str, names: &str, documents: &[&str]) -> (StatusCode, Value) {
        self.post(
            "/api/v1/partner/services",
            Some(&partner.token),
            json!({
                "branch_id": branch_id, "names": names, "documents": documents,
                "legal_basis": {"acknowledged": true, "statement": "ст. 11 Закону «Про захист персональних даних»: договір"},
                "retention_days": 30
            }),
        )
        .await
    }

    /// A live QR in one call: the hotel «Палаццо» (ЄДРПОУ 45172831) onboarded, its branch
    /// confirmed at `reception@palazzo.example`, and a service for `purpose` asking for `documents`.
    pub async fn live_qr(&self, purpose: &str, documents: &[&str]) -> LiveQr {
        let partner = self.onboard_partner("45172831", "ТОВ «Готель „Палаццо“»").await;
        let branch_id = self.confirmed_branch(&partner, "reception@palazzo.example").await;
        let (service_id, link) = self.service_with_qr(&partner, &branch_id, purpose, documents).await;
        LiveQr { partner, branch_id, service_id, link }
    }

    /// A service with an issued QR; returns (service id, QR link).
    pub async fn service_with_qr(&self, partner: &TestPartner, branch_id: &str, names: &str, documents: &[&str]) -> (String, String) {
        let (status, body) = self.create_service(partner, branch_id, names, documents).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let service_id = body["service_id"].as_str().expect("service id").to_string();
        let (status, qr) = self.post(&format!("/api/v1/partner/services/{service_id}/qr"), Some(&partner.token), json!({})).await;
        assert_eq!(status, StatusCode::CREATED, "{qr}");
        (service_id, qr["link"].as_str().expect("link").to_string())
    }

    pub async fn operator_session(&self) -> String {
        let (status, body) = self.post("/api/v1/dev/operator-sessions", None, json!({"name": "Оксана Ковальчук"})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().expect("token").to_string()
    }

    pub async fn citizen_session(&self, rnokpp: &str) -> String {
        let (status, body) = self.post("/api/v1/dev/citizen-sessions", None, json!({"rnokpp": rnokpp})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().expect("token").to_string()
    }

    pub async fn scan(&self, citizen_token: &str, link: &str) -> (StatusCode, Value) {
        self.post("/api/v1/citizen/scans", Some(citizen_token), json!({"link": link})).await
    }

    /// What the development liveness provider asserts for `photo` and the citizen's request.
    pub async fn liveness_assertion(&self, citizen_token: &str, share_id: &str, photo: &[u8]) -> String {
        use base64::Engine as _;
        let photo = base64::engine::general_purpose::STANDARD.encode(photo);
        let (status, body) = self
            .post("/api/v1/dev/liveness-checks", Some(citizen_token), json!({"share_request_id": share_id, "photo_base64": photo}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["assertion"].as_str().expect("assertion").to_string()
    }

    /// Photo verification with a fresh assertion for a selfie.
    pub async fn verify_photo(&self, citizen_token: &str, share_id: &str) -> (StatusCode, Value) {
        let assertion = self.liveness_assertion(citizen_token, share_id, b"selfie").await;
        self.post(
            &format!("/api/v1/citizen/share-requests/{share_id}/photo-verification"),
            Some(citizen_token),
            json!({"assertion": assertion}),
        )
        .await
    }

    /// Photo verification and the Diia.Signature code: the request ready to send.
    pub async fn verify_and_confirm(&self, citizen_token: &str, share_id: &str, code: &str) {
        let (status, body) = self.verify_photo(citizen_token, share_id).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, body) =
            self.post(&format!("/api/v1/citizen/share-requests/{share_id}/confirmation"), Some(citizen_token), json!({"code": code})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    pub async fn wait_for_mail(&self, prefix: &str) -> PathBuf {
        let dir = self.mail_dir.clone();
        eventually(Duration::from_secs(30), &format!("mail {prefix}*.eml"), || {
            let dir = dir.clone();
            async move {
                std::fs::read_dir(&dir)
                    .ok()?
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .find(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(prefix) && n.ends_with(".eml")))
            }
        })
        .await
    }

    /// Stops the engine and starts it again on the same database and data folder, with its
    /// configuration changed by `adjust` (a rotated key, say).
    pub async fn restart_with(mut self, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let app = self.app.take().expect("an in-process engine");
        let mut config = app.config.clone();
        app.shutdown().await;
        config.port = 0;
        // A deployment's public address outlives a restart: the QR codes printed before lead here.
        config.public_base_url.get_or_insert_with(|| self.base.clone());
        adjust(&mut config);
        self.clock = config.clock.clone();
        let app = Application::build(config).await.expect("the application starts again");
        self.base = app.base_url();
        self.app = Some(app);
        self
    }

    pub async fn shutdown(mut self) {
        if let Some(app) = self.app.take() {
            app.shutdown().await;
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// Runs a command, failing the test with its output if it does not succeed.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Python's `email` package reads a letter back: the decoded plain-text body.
pub fn mail_text_body(eml: &Path) -> String {
    run(Command::new("python3").args([
        "-c",
        "import sys,email\nfrom email import policy\nm=email.message_from_binary_file(open(sys.argv[1],'rb'),policy=policy.default)\nsys.stdout.write(m.get_body(('plain',)).get_content())",
    ])
    .arg(eml))
}

/// Extracts a letter's attachments into `dir` with Python's `email` package; prints
/// `filename<TAB>content-type` per attachment, and the decoded Subject, To and Message-ID first.
pub fn unpack_mail(eml: &Path, dir: &Path) -> (Value, Vec<(String, String)>) {
    let out = run(Command::new("python3")
        .args([
            "-c",
            r#"
import sys, os, json, email
from email import policy
m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=policy.default)
print(json.dumps({"subject": str(m["subject"]), "to": str(m["to"]), "message_id": str(m["message-id"]), "body": m.get_body(("plain",)).get_content()}))
for part in m.iter_attachments():
    name = part.get_filename()
    open(os.path.join(sys.argv[2], name), 'wb').write(part.get_content())
    print(name + "\t" + part.get_content_type())
"#,
        ])
        .arg(eml)
        .arg(dir));
    let mut lines = out.lines();
    let headers: Value = serde_json::from_str(lines.next().expect("headers line")).expect("headers json");
    let attachments = lines.filter_map(|l| l.split_once('\t')).map(|(a, b)| (a.to_string(), b.to_string())).collect();
    (headers, attachments)
}

/// A real SMTP server on loopback (`tests/smtp_server.py`, aiosmtpd): stores what it accepts as
/// `.eml` files, refuses the recipients it is told to. Stopped when dropped.
pub struct SmtpServer {
    pub port: u16,
    pub inbox: PathBuf,
    child: std::process::Child,
}

impl SmtpServer {
    pub fn start(reject: &[&str]) -> Self {
        Self::start_on(free_port(), reject, 0.0)
    }

    /// Starts on a given port (to bring a server back where the engine expects it), refusing
    /// `reject`, and holding the first message `stall_first` seconds before accepting it.
    pub fn start_on(port: u16, reject: &[&str], stall_first: f64) -> Self {
        use std::io::BufRead;
        let inbox = temp_dir("inbox");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/smtp_server.py");
        let mut cmd = Command::new("python3");
        cmd.arg(script).arg("--port").arg(port.to_string()).arg("--out").arg(&inbox);
        for r in reject {
            cmd.arg("--reject").arg(r);
        }
        cmd.arg("--stall-first").arg(stall_first.to_string());
        let mut child =
            cmd.stdout(std::process::Stdio::piped()).spawn().expect("python3 with aiosmtpd (scripts/setup-machine installs it)");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("SMTP server output");
        assert_eq!(line.trim(), "ready", "the SMTP server did not start");
        Self { port, inbox, child }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages accepted so far.
    pub fn received(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.inbox)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "eml")).collect())
            .unwrap_or_default();
        files.sort();
        files
    }

    /// Whether the server is holding its first message.
    pub fn stalling(&self) -> bool {
        self.inbox.join(".stalling").exists()
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.inbox);
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// The `diia-qr` binary built beside the tests (`cargo test --workspace` builds it for the API
/// crate's own CLI tests).
pub fn engine_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe.parent().and_then(Path::parent).expect("target/<profile>");
    let bin = dir.join("diia-qr");
    assert!(bin.exists(), "{} is missing: run `cargo build -p diia-qr` (or the whole test suite) first", bin.display());
    bin
}

/// `diia-qr serve` as a separate process on an existing database: so a test can kill it
/// outright. Returns a `TestApp` that talks to it over HTTP, and the process.
pub async fn spawn_serve_process(
    database_url: &str,
    pool: PgPool,
    data_dir: &Path,
    smtp_url: &str,
    lease_secs: u64,
) -> (TestApp, std::process::Child) {
    use std::io::BufRead;
    let mut child = Command::new(engine_binary())
        .args(["serve", "--dev-sign-in", "--port", "0", "--database-url", database_url, "--smtp-url", smtp_url, "--data-dir"])
        .arg(data_dir)
        .env("DIIA_QR_DELIVERY_LEASE_SECS", lease_secs.to_string())
        .env("DIIA_QR_DELIVERY_FIRST_RETRY_MS", "100")
        .env("DIIA_QR_GUESSES_PER_MINUTE", "100000")
        .env("DIIA_QR_PUBLIC_REQUESTS_PER_MINUTE", "100000")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start diia-qr serve");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("serve prints its URL");
    let base = line.split_whitespace().find(|w| w.starts_with("http://")).unwrap_or_else(|| panic!("no URL in {line:?}")).to_string();
    let app = TestApp {
        app: None,
        base,
        client: reqwest::Client::new(),
        pool,
        database_url: database_url.to_string(),
        data_dir: data_dir.to_path_buf(),
        mail_dir: data_dir.join("outbox"),
        // Another process keeps its own clock: this one cannot be moved.
        clock: Clock::system(),
    };
    (app, child)
}

impl TestApp {
    /// Confirms a new branch from the letter `smtp` received; returns the branch id.
    pub async fn confirmed_branch_via_smtp(&self, partner: &TestPartner, email: &str, smtp: &SmtpServer) -> String {
        let (status, body) = self.create_branch(partner, "Готель «Палаццо»", email).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let branch = body["branch_id"].as_str().expect("branch id").to_string();
        let letter = eventually(Duration::from_secs(30), "the confirmation letter", || async { smtp.received().pop() }).await;
        let text = mail_text_body(&letter);
        let code: String =
            text.split_once("Код підтвердження:").expect("code line").1.trim_start().chars().take_while(char::is_ascii_digit).collect();
        let (status, body) = self.post("/api/v1/branch-email-confirmations", None, json!({"branch_id": branch, "code": code})).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        branch
    }

    /// Scan, photo, Diia.Signature: returns the share id, ready to send.
    pub async fn consented_share(&self, link: &str, citizen: &(String, String)) -> (String, String) {
        let token = self.citizen_session(&citizen.0).await;
        let (status, share) = self.scan(&token, link).await;
        assert_eq!(status, StatusCode::CREATED, "{share}");
        let id = share["share_request_id"].as_str().expect("id").to_string();
        self.verify_and_confirm(&token, &id, &citizen.1).await;
        (token, id)
    }

    /// The share's status as the citizen sees it, once the views caught up to `status`.
    pub async fn wait_for_share_status(&self, citizen_token: &str, id: &str, status: &str) -> Value {
        eventually(Duration::from_secs(30), &format!("share {id} to be {status}"), || async {
            let (_, h) = self.get("/api/v1/citizen/history", Some(citizen_token)).await;
            h["history"].as_array()?.iter().find(|i| i["share"]["share_request_id"] == id && i["share"]["status"] == status).cloned()
        })
        .await
    }
}

/// The Message-ID of each letter in `letters` (raw header value).
pub fn message_ids(letters: &[PathBuf]) -> Vec<String> {
    letters
        .iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(p).ok()?;
            text.lines().find_map(|l| l.strip_prefix("Message-ID: ").map(|v| v.trim().to_string()))
        })
        .collect()
}
