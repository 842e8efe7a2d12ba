//! `diia-qr-load`: the whole flow against running engines, as their users drive it.
//!
//! Partners onboard (registration, profile, offer, the application signed with a КЕП of the
//! development PKI, a branch whose mailbox is confirmed from the letter, a service and its QR);
//! then citizens each scan, pass photo verification, confirm with Diia.Signature and send, over
//! and over, while partners search their received documents. Every request goes to the next of
//! the `--base` engines in turn. At the end it waits until every sent request's letter was
//! accepted by the mail server and prints throughput and latency percentiles per step, with one
//! JSON line (`summary: {...}`) for scripts.
//!
//! The engines must run with `--dev-sign-in --dev-population N` (the development sign-ins and
//! liveness provider, and at least as many generated citizens as `--citizens`) and mail to an SMTP server that files letters in `--mail-dir` (tests/smtp_server.py).
//!
//!   diia-qr-load --base http://127.0.0.1:8080 --data-dir .diia-qr --mail-dir /tmp/mail \
//!     --partners 4 --citizens 50 --shares 2000 --searchers 2

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use base64::prelude::{Engine as _, BASE64_STANDARD};
use chrono::{DateTime, Utc};
use clap::Parser;
use diia_qr_domain::identifiers::Edrpou;
use diia_qr_projections::seal::Signer;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[derive(Parser, Debug, Clone)]
#[command(name = "diia-qr-load", about = "Drives the whole Diia.QR flow against running engines and reports latency.")]
struct Args {
    /// An engine's address; give several to spread the load (each request goes to the next).
    #[arg(long = "base", required = true)]
    bases: Vec<String>,
    /// The engines' data folder: its development PKI issues the partners' КЕП.
    #[arg(long)]
    data_dir: PathBuf,
    /// Where the SMTP server files the letters it accepts (the branches' confirmation codes).
    #[arg(long)]
    mail_dir: PathBuf,
    #[arg(long, default_value_t = 4)]
    partners: usize,
    /// Citizens sharing at once.
    #[arg(long, default_value_t = 50)]
    citizens: usize,
    /// Share requests to send in all.
    #[arg(long, default_value_t = 1000)]
    shares: usize,
    /// Partners searching their documents at once, throughout.
    #[arg(long, default_value_t = 2)]
    searchers: usize,
    /// New shares started per second, at most `--citizens` at once (an open loop, as citizens
    /// arrive at counters). Without it every citizen starts the next share as soon as the last
    /// is sent: the engine's ceiling, with latency that is mostly queueing.
    #[arg(long)]
    rate: Option<f64>,
    /// A share that fails on its way (an engine killed, the database restarting) is started
    /// again, as its citizen would, until `--shares` were sent (at most ten tries per share).
    #[arg(long)]
    retry: bool,
    /// How long to wait for the last letters once everything is sent.
    #[arg(long, default_value_t = 300)]
    delivery_timeout_secs: u64,
}

/// Latencies of one step, and the answers that were not what the step expects.
#[derive(Default)]
struct Step {
    took: Vec<Duration>,
    failures: BTreeMap<String, usize>,
}

#[derive(Default)]
struct Figures {
    steps: Mutex<BTreeMap<&'static str, Step>>,
}

impl Figures {
    fn record(&self, step: &'static str, took: Duration, failure: Option<String>) {
        let mut steps = self.steps.lock().expect("figures");
        let entry = steps.entry(step).or_default();
        entry.took.push(took);
        if let Some(f) = failure {
            *entry.failures.entry(f).or_default() += 1;
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The engines, in turn, and what every call is measured into.
struct Client {
    http: reqwest::Client,
    bases: Vec<String>,
    next: AtomicUsize,
    figures: Figures,
}

impl Client {
    /// One call; an answer other than `expect` is recorded as the step's failure and returned as an error.
    async fn call(
        &self,
        step: &'static str,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        expect: StatusCode,
    ) -> Result<Value> {
        let base = &self.bases[self.next.fetch_add(1, Ordering::Relaxed) % self.bases.len()];
        let mut request = self.http.request(method, format!("{base}{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let started = Instant::now();
        let answer = request.send().await;
        let (status, problem, bytes) = match answer {
            Ok(r) => {
                let status = r.status();
                let problem = r.headers().get("content-type").is_some_and(|t| t.as_bytes().starts_with(b"application/problem+json"));
                (Some(status), problem, r.bytes().await.unwrap_or_default())
            }
            Err(_) => (None, false, Default::default()),
        };
        let took = started.elapsed();
        if status != Some(expect) {
            // An error that is not problem+json is reported as such: the API promises RFC 9457.
            let failure = match status {
                None => "no answer".to_string(),
                Some(s) if problem => s.as_u16().to_string(),
                Some(s) => format!("{} (not problem+json)", s.as_u16()),
            };
            self.figures.record(step, took, Some(failure.clone()));
            bail!("{step}: {failure}: {}", String::from_utf8_lossy(&bytes));
        }
        self.figures.record(step, took, None);
        Ok(if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) })
    }
}

/// A share sent: the partner's index, the request's id and when its scan was made.
type Sent = (usize, String, DateTime<Utc>);

/// A partner ready to receive: its session and its QR link.
struct Partner {
    token: String,
    link: String,
}

/// A valid ЄДРПОУ for the `n`th partner of this run.
fn edrpou(run: u32, n: usize) -> String {
    let prefix = format!("{:07}", (run as usize * 100 + n) % 10_000_000);
    (0..10).map(|d| format!("{prefix}{d}")).find(|c| Edrpou::parse(c).is_ok()).expect("a check digit fits")
}

/// The confirmation code in the letter to `mailbox`, once the mail server has it.
async fn confirmation_code(mail_dir: &Path, mailbox: &str) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        for entry in std::fs::read_dir(mail_dir).with_context(|| format!("reading {}", mail_dir.display()))?.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("eml") {
                continue;
            }
            let raw = std::fs::read(&path)?;
            let Some(letter) = mail_parser::MessageParser::default().parse(&raw) else { continue };
            let to_mailbox = letter.to().and_then(|to| to.first()).and_then(|a| a.address()).is_some_and(|a| a == mailbox);
            if !to_mailbox {
                continue;
            }
            let text = letter.body_text(0).unwrap_or_default();
            if let Some(code) = text.split("Код підтвердження:").nth(1).and_then(|rest| rest.split_whitespace().next()) {
                return Ok(code.trim_matches(|c: char| !c.is_ascii_digit()).to_string());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("no confirmation letter to {mailbox} in {}", mail_dir.display())
}

async fn onboard(client: &Client, args: &Args, run: u32, n: usize) -> Result<Partner> {
    use reqwest::Method as M;
    let edrpou = edrpou(run, n);
    let name = format!("ТОВ «Навантаження-{n}» (П'ятихатки)");
    let session = client
        .call(
            "partner sign-in",
            M::POST,
            "/api/v1/dev/partner-sessions",
            None,
            Some(json!({
            "kind": "legal_entity", "edrpou": edrpou, "organisation_name": name,
            "head_rnokpp": "3124502180", "head_full_name": "Ґарбуз Марія Олексіївна"})),
            StatusCode::CREATED,
        )
        .await?;
    let token = session["token"].as_str().ok_or_else(|| anyhow!("no session token"))?.to_string();
    let t = Some(token.as_str());
    client.call("registration", M::POST, "/api/v1/partner/registration", t, Some(json!({})), StatusCode::CREATED).await?;
    client
        .call(
            "profile",
            M::PUT,
            "/api/v1/partner/profile",
            t,
            Some(json!({"email": format!("head-{edrpou}@load.example"), "phone": "0671234567", "passport": "123456789"})),
            StatusCode::NO_CONTENT,
        )
        .await?;
    let offer = client.call("offer", M::GET, "/api/v1/partner/offer", t, None, StatusCode::OK).await?;
    client
        .call(
            "offer acceptance",
            M::POST,
            "/api/v1/partner/offer-acceptance",
            t,
            Some(json!({"version": offer["version"], "sha256": offer["sha256"]})),
            StatusCode::NO_CONTENT,
        )
        .await?;
    let pdf = client
        .http
        .get(format!("{}/api/v1/partner/accession-application.pdf", client.bases[n % client.bases.len()]))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    // One КЕП at a time: the development PKI rewrites its CRL files when it loads.
    static PKI: Mutex<()> = Mutex::new(());
    let kep = {
        let _one = PKI.lock().expect("the PKI lock");
        diia_qr_tests::head_kep(&args.data_dir, &edrpou, &name)
    };
    let signature = kep.sign_detached(&pdf, Utc::now())?;
    client
        .call(
            "application signature",
            M::POST,
            "/api/v1/partner/accession-application",
            t,
            Some(json!({"signature_base64": BASE64_STANDARD.encode(signature)})),
            StatusCode::NO_CONTENT,
        )
        .await?;
    let mailbox = format!("branch-{edrpou}@load.example");
    let branch = client
        .call("branch", M::POST, "/api/v1/partner/branches", t, Some(json!({"name": format!("Відділення «Ґорґани» {n}"), "email": mailbox,
            "address": {"region": "Івано-Франківська область", "locality": "м. Яремче", "street": "вул. Свободи", "house": format!("{}", n + 1)}})),
            StatusCode::CREATED)
        .await?;
    let branch_id = branch["branch_id"].as_str().ok_or_else(|| anyhow!("no branch id"))?.to_string();
    let code = confirmation_code(&args.mail_dir, &mailbox).await?;
    client
        .call(
            "mailbox confirmation",
            M::POST,
            "/api/v1/branch-email-confirmations",
            None,
            Some(json!({"branch_id": branch_id, "code": code})),
            StatusCode::NO_CONTENT,
        )
        .await?;
    let service = client
        .call(
            "service",
            M::POST,
            "/api/v1/partner/services",
            t,
            Some(json!({"branch_id": branch_id, "names": "для укладення договору",
            "documents": ["internal-passport"], "retention_days": 30,
            "legal_basis": {"acknowledged": true, "statement": "ст. 11 Закону «Про захист персональних даних»: договір"}})),
            StatusCode::CREATED,
        )
        .await?;
    let service_id = service["service_id"].as_str().ok_or_else(|| anyhow!("no service id"))?;
    let qr =
        client.call("qr", M::POST, &format!("/api/v1/partner/services/{service_id}/qr"), t, Some(json!({})), StatusCode::CREATED).await?;
    Ok(Partner { token, link: qr["link"].as_str().ok_or_else(|| anyhow!("no QR link"))?.to_string() })
}

/// One citizen's whole share: scan, photo, Diia.Signature, send. Returns the request's id and
/// when the scan was made.
async fn share(client: &Client, citizen: &str, code: &str, link: &str) -> Result<(String, DateTime<Utc>)> {
    use reqwest::Method as M;
    let (began, started) = (Utc::now(), Instant::now());
    let t = Some(citizen);
    let opened = client.call("scan", M::POST, "/api/v1/citizen/scans", t, Some(json!({"link": link})), StatusCode::CREATED).await?;
    let id = opened["share_request_id"].as_str().ok_or_else(|| anyhow!("no share id"))?.to_string();
    let liveness = client
        .call(
            "liveness check",
            M::POST,
            "/api/v1/dev/liveness-checks",
            t,
            Some(json!({"share_request_id": id, "photo_base64": BASE64_STANDARD.encode(b"selfie")})),
            StatusCode::CREATED,
        )
        .await?;
    client
        .call(
            "photo verification",
            M::POST,
            &format!("/api/v1/citizen/share-requests/{id}/photo-verification"),
            t,
            Some(json!({"assertion": liveness["assertion"]})),
            StatusCode::OK,
        )
        .await?;
    client
        .call(
            "confirmation",
            M::POST,
            &format!("/api/v1/citizen/share-requests/{id}/confirmation"),
            t,
            Some(json!({"code": code})),
            StatusCode::OK,
        )
        .await?;
    client.call("send", M::POST, &format!("/api/v1/citizen/share-requests/{id}/send"), t, None, StatusCode::OK).await?;
    client.figures.record("scan to send accepted", started.elapsed(), None);
    Ok((id, began))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let client = Arc::new(Client {
        http: reqwest::Client::builder().pool_max_idle_per_host(256).timeout(Duration::from_secs(30)).build()?,
        bases: args.bases.iter().map(|b| b.trim_end_matches('/').to_string()).collect(),
        next: AtomicUsize::new(0),
        figures: Figures::default(),
    });
    let run = (Utc::now().timestamp() % 90_000) as u32;

    let started = Instant::now();
    let mut onboarding = Vec::new();
    for n in 0..args.partners {
        let client = client.clone();
        let args = args.clone();
        onboarding.push(tokio::spawn(async move { onboard(&client, &args, run, n).await }));
    }
    let mut partners = Vec::new();
    for job in onboarding {
        partners.push(job.await??);
    }
    eprintln!("{} partners onboarded in {:.1} s", partners.len(), started.elapsed().as_secs_f64());
    let partners = Arc::new(partners);

    // Each citizen at work is another of the registry's generated citizens (`serve
    // --dev-population`), as at a real counter: no two share a Diia.Signature key.
    let population = diia_qr_domain::demo::generated_citizens(args.citizens);
    let mut sessions = Vec::new();
    for citizen in &population {
        let s = client
            .call(
                "citizen sign-in",
                Method::POST,
                "/api/v1/dev/citizen-sessions",
                None,
                Some(json!({"rnokpp": citizen.rnokpp.as_str()})),
                StatusCode::CREATED,
            )
            .await?;
        let token = s["token"].as_str().ok_or_else(|| anyhow!("no citizen token"))?.to_string();
        sessions.push((token, citizen.signature_code.clone()));
    }

    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut searchers = Vec::new();
    for n in 0..args.searchers {
        let (client, partners, done) = (client.clone(), partners.clone(), done.clone());
        searchers.push(tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                let partner = &partners[n % partners.len()];
                let _ = client
                    .call(
                        "search",
                        Method::GET,
                        "/api/v1/partner/documents?q=%D0%84%D1%80%D0%BE%D1%88%D0%B5%D0%BD%D0%BA%D0%BE",
                        Some(&partner.token),
                        None,
                        StatusCode::OK,
                    )
                    .await;
            }
        }));
    }

    let arrivals = args.rate.map(|rate| {
        let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(0.01)));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Arc::new(tokio::sync::Mutex::new(ticks))
    });
    let sharing_started = Instant::now();
    let taken = Arc::new(AtomicUsize::new(0));
    let tries = Arc::new(AtomicUsize::new(0));
    let sent: Arc<Mutex<Vec<Sent>>> = Arc::default();
    let mut citizens = Vec::new();
    for (token, code) in sessions {
        let (client, partners, taken, sent, arrivals) = (client.clone(), partners.clone(), taken.clone(), sent.clone(), arrivals.clone());
        let (total, retry, tries) = (args.shares, args.retry, tries.clone());
        citizens.push(tokio::spawn(async move {
            loop {
                if let Some(arrivals) = &arrivals {
                    arrivals.lock().await.tick().await;
                }
                let n = taken.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let p = n % partners.len();
                match share(&client, &token, &code, &partners[p].link).await {
                    Ok((id, began)) => sent.lock().expect("sent").push((p, id, began)),
                    Err(_) if retry && tries.fetch_add(1, Ordering::Relaxed) < 10 * total => {
                        taken.fetch_sub(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    Err(_) => {}
                }
            }
        }));
    }
    for c in citizens {
        c.await?;
    }
    let sharing = sharing_started.elapsed();
    done.store(true, Ordering::Relaxed);
    for s in searchers {
        s.await?;
    }

    // Every letter, accepted by the mail server: when, by the engine's own record of it.
    let sent = std::mem::take(&mut *sent.lock().expect("sent"));
    let deadline = Instant::now() + Duration::from_secs(args.delivery_timeout_secs);
    let mut to_mail = Vec::new();
    let mut undelivered = 0;
    for (p, id, began) in &sent {
        loop {
            let details = client
                .call(
                    "share details",
                    Method::GET,
                    &format!("/api/v1/partner/shares/{id}"),
                    Some(&partners[*p].token),
                    None,
                    StatusCode::OK,
                )
                .await;
            let accepted = details.ok().and_then(|d| d["delivery"]["accepted_at"].as_str().and_then(|t| t.parse::<DateTime<Utc>>().ok()));
            if let Some(at) = accepted {
                to_mail.push((at - *began).to_std().unwrap_or_default());
                break;
            }
            if Instant::now() > deadline {
                undelivered += 1;
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    client.figures.steps.lock().expect("figures").entry("scan to mail accepted").or_default().took = to_mail;

    report(&client.figures, sent.len(), args.shares, undelivered, sharing);
    Ok(())
}

fn report(figures: &Figures, sent: usize, asked: usize, undelivered: usize, sharing: Duration) {
    let mut steps = figures.steps.lock().expect("figures");
    println!("{:<24} {:>7} {:>9} {:>9} {:>9} {:>9} {:>6}  failures", "step", "count", "p50 ms", "p95 ms", "p99 ms", "max ms", ">1s");
    let mut summary = serde_json::Map::new();
    let mut over_a_second = 0;
    for (name, step) in steps.iter_mut() {
        step.took.sort();
        let slow = step.took.iter().filter(|d| d.as_secs_f64() > 1.0).count();
        // The flow's spans are not requests.
        if !name.starts_with("scan to ") {
            over_a_second += slow;
        }
        let failures: Vec<String> = step.failures.iter().map(|(k, v)| format!("{k}×{v}")).collect();
        let (p50, p95, p99, max) = (
            percentile(&step.took, 50.0),
            percentile(&step.took, 95.0),
            percentile(&step.took, 99.0),
            step.took.last().copied().unwrap_or_default(),
        );
        println!(
            "{name:<24} {:>7} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {slow:>6}  {}",
            step.took.len(),
            ms(p50),
            ms(p95),
            ms(p99),
            ms(max),
            failures.join(" ")
        );
        summary.insert(
            name.to_string(),
            json!({"count": step.took.len(), "p50_ms": ms(p50), "p99_ms": ms(p99), "max_ms": ms(max), "failures": step.failures}),
        );
    }
    let per_second = sent as f64 / sharing.as_secs_f64();
    println!();
    println!("shares sent: {sent} of {asked} in {:.1} s ({per_second:.1} per second); undelivered: {undelivered}; requests above 1 s: {over_a_second}", sharing.as_secs_f64());
    summary.insert("shares_sent".into(), json!(sent));
    summary.insert("shares_per_second".into(), json!(per_second));
    summary.insert("undelivered".into(), json!(undelivered));
    summary.insert("requests_over_1s".into(), json!(over_a_second));
    println!("summary: {}", Value::Object(summary));
}
