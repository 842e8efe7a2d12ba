//! The read side under volume, each figure beside its baseline measured in the same run, on a
//! throwaway PostgreSQL cluster:
//! - search of received copies (p50/p95 of `search`) against the server's own execution time of
//!   the same SQL (`EXPLAIN ANALYZE`);
//! - rebuilding the views (events/s) against reading the same events alone;
//! - the audit export (rows/s, peak memory growth) at several sizes, against reading the
//!   entries alone;
//! - what one audit entry costs (append in its own transaction) against a plain one-row insert.
//!
//! `cargo bench -p diia-qr --bench projections` (sizes: `DIIA_QR_BENCH_SIZES=10000,100000,1000000`;
//! parts: `DIIA_QR_BENCH_PARTS=search,rebuild,entry,export`).
//! Figures go to docs/benchmarks.md with the command.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diia_qr::embedded_pg::EmbeddedPostgres;
use diia_qr_domain::documents::{DocumentCandidate, DocumentType};
use diia_qr_domain::identifiers::{EmailAddress, Rnokpp};
use diia_qr_domain::share_request::{ShareRequestEvent, ShareSnapshot};
use diia_qr_projections::audit::LogKey;
use diia_qr_projections::audit_trail::access::{record_access, Access};
use diia_qr_projections::audit_trail::export::{export, ExportContext, ExportFilter, ExportFormat};
use diia_qr_projections::audit_trail::store::{append, checkpoint_now, NewEntry};
use diia_qr_projections::keys::{KeyGenerations, KeyPurpose, KeyRing};
use diia_qr_projections::log::{read_after, rebuild, LogPosition};
use diia_qr_projections::pki::DevPki;
use diia_qr_projections::seal::Seal;
use diia_qr_projections::views::search::{self, translit, SearchQuery};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

const PARTNERS: usize = 50;
const SURNAMES: [&str; 12] = [
    "Їжакевич",
    "Ґонта",
    "Олійник-Д'Арко",
    "Єрмоленко",
    "Шевченко",
    "Коваленко",
    "Бондаренко",
    "Ткачук",
    "Мельник",
    "Кравчук",
    "Мар'янчук",
    "Іваненко",
];
const GIVEN: [&str; 8] = ["Мар'яна", "Євген", "Ігор", "Ольга", "Юрій", "Ірина", "Богдан", "Ганна"];

fn partner(i: usize) -> Uuid {
    Uuid::from_u128(0x5000_0000 + (i % PARTNERS) as u128)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

/// `n` indexed copies spread over the partners, as the search index holds them.
async fn fill_search_index(pool: &PgPool, n: usize) {
    for start in (0..n).step_by(10_000) {
        let rows: Vec<usize> = (start..(start + 10_000).min(n)).collect();
        let names: Vec<String> =
            rows.iter().map(|i| format!("{} {}", SURNAMES[(i / PARTNERS) % 12], GIVEN[(i / PARTNERS / 12) % 8])).collect();
        let texts: Vec<String> = names.iter().map(|n| translit::search_text(n.split(' '))).collect();
        let shares: Vec<Uuid> = rows.iter().map(|i| Uuid::from_u128(0x7000_0000_0000 + *i as u128)).collect();
        let partners: Vec<Uuid> = rows.iter().map(|i| partner(*i)).collect();
        let times: Vec<DateTime<Utc>> = rows.iter().map(|i| Utc::now() - chrono::Duration::minutes(*i as i64)).collect();
        sqlx::query(
            "INSERT INTO search_documents (share_request_id, copy_index, partner_id, branch_id, branch_name, service_id, service_names,
                 document_type, holder_name, search_text, document_number, document_number_key, rnokpp, received_at, delivery_state)
             SELECT s, 0, p, p, 'Відділення', p, ARRAY['для поселення'], 'internal-passport', n, t, NULL, NULL, NULL, r, 'delivered'
               FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[]) AS x(s, p, n, t, r)",
        )
        .bind(&shares)
        .bind(&partners)
        .bind(&names)
        .bind(&texts)
        .bind(&times)
        .execute(pool)
        .await
        .expect("fill the search index");
    }
    sqlx::query("ANALYZE search_documents").execute(pool).await.expect("analyze");
}

async fn bench_search(pool: &PgPool, n: usize, keys: &KeyRing) {
    fill_search_index(pool, n).await;
    let queries = [("a typo", "Їжакевеч Мар'яна"), ("Latin", "Yizhakevych"), ("a surname", "Ґонта")];
    for (what, name) in queries {
        let query = SearchQuery { name: Some(name.into()), ..SearchQuery::default() };
        let (mut engine, mut raw) = (Vec::new(), Vec::new());
        for i in 0..60 {
            let started = Instant::now();
            let page = search::search(pool, keys.key(KeyPurpose::SearchCursors), partner(i), &query).await.expect("search");
            engine.push(started.elapsed().as_secs_f64() * 1000.0);
            assert!(!page.documents.is_empty());
            raw.push(search::execution_ms(pool, partner(i), &query).await.expect("explain"));
        }
        engine.sort_by(f64::total_cmp);
        raw.sort_by(f64::total_cmp);
        let (p50, p95, r50, r95) = (percentile(&engine, 0.5), percentile(&engine, 0.95), percentile(&raw, 0.5), percentile(&raw, 0.95));
        println!(
            "| search, {what} «{name}» | {n} copies | p50 {p50:.1} ms, p95 {p95:.1} ms | server execution p50 {r50:.1} ms, p95 {r95:.1} ms | {:.2}× at p95 |",
            p95 / r95
        );
    }
}

/// `shares` share requests' events (opened → delivered), unsealed, straight into the log.
async fn fill_log(pool: &PgPool, shares: usize) {
    let template = Uuid::from_u128(0xabcd_ef01_2345);
    let now = Utc::now();
    let document = diia_qr_domain::demo::one_document_of_each_type().remove(0);
    let snapshot = |p: Uuid| ShareSnapshot {
        partner_id: p,
        organisation_name: "ТОВ «Готель „Палаццо“»".into(),
        branch_id: p,
        branch_name: "Готель «Палаццо»".into(),
        branch_address: "м. Тернопіль, вул. Руська, 12".into(),
        recipient_email: EmailAddress::parse("reception@palazzo.example").expect("an address"),
        service_id: p,
        service_names: vec!["для поселення у готель".into()],
        documents: vec![DocumentType::InternalPassport],
        retention_days: 30,
        qr_version: 1,
        qr_short_code: String::new(),
    };
    let events = |p: Uuid| {
        [
            ShareRequestEvent::Opened {
                share_request_id: template,
                citizen: Rnokpp::parse("3294600243").expect("a РНОКПП"),
                snapshot: snapshot(p),
                candidates: vec![DocumentCandidate::from(&document)],
                opened_at: now,
                expires_at: now + chrono::Duration::minutes(15),
            },
            ShareRequestEvent::PhotoVerified { at: now, assertion_id: None },
            ShareRequestEvent::ConsentSigned { statement: "{}".into(), signature_base64: String::new(), signed_at: now },
            ShareRequestEvent::Sent {
                copies: vec![document.clone()],
                recipient_email: EmailAddress::parse("reception@palazzo.example").expect("an address"),
                sent_at: now,
                copy_seed: Some(uuid::Uuid::new_v4()),
            },
            ShareRequestEvent::Delivered { accepted_at: now, message_id: "<bench@diia-qr>".into() },
        ]
        .map(|e| {
            let kind = cqrs_es::DomainEvent::event_type(&e);
            (kind, serde_json::to_string(&e).expect("an event serialises"))
        })
    };
    let per_partner: Vec<_> = (0..PARTNERS).map(|i| events(partner(i))).collect();
    for start in (0..shares).step_by(2_000) {
        let (mut ids, mut sequences, mut kinds, mut payloads) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for i in start..(start + 2_000).min(shares) {
            let id = Uuid::from_u128(0x9000_0000_0000 + i as u128).to_string();
            for (sequence, (kind, payload)) in per_partner[i % PARTNERS].iter().enumerate() {
                ids.push(id.clone());
                sequences.push(sequence as i64 + 1);
                kinds.push(kind.clone());
                payloads.push(payload.replace(&template.to_string(), &id));
            }
        }
        sqlx::query(
            "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
             SELECT 'ShareRequest', a, s, k, '1.0', p::json, '{}' FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[]) AS x(a, s, k, p)",
        )
        .bind(&ids)
        .bind(&sequences)
        .bind(&kinds)
        .bind(&payloads)
        .execute(pool)
        .await
        .expect("fill the log");
    }
}

async fn bench_rebuild(pool: &PgPool, events: usize) {
    fill_log(pool, events / 5).await;
    let mut conn = pool.acquire().await.expect("a connection");
    let started = Instant::now();
    let (mut position, mut read) = (LogPosition::default(), 0usize);
    loop {
        let batch = read_after(&mut conn, position, 2_000).await.expect("read the log");
        let Some(last) = batch.last() else { break };
        position = last.position;
        read += batch.len();
    }
    let reading = read as f64 / started.elapsed().as_secs_f64();
    drop(conn);
    for view in diia_qr_projections::views() {
        let report = rebuild(pool, view.as_ref(), |_| {}).await.expect("rebuild");
        let rate = report.events as f64 / report.seconds;
        println!(
            "| rebuild `{}` | {} events | {rate:.0} events/s | reading the events alone {reading:.0} events/s | {:.0}% |",
            view.name(),
            report.events,
            100.0 * rate / reading
        );
    }
}

/// `n` audit entries, appended in batches as the trail's follower appends them.
async fn fill_trail(pool: &PgPool, from: usize, to: usize) {
    for start in (from..to).step_by(5_000) {
        let entries: Vec<NewEntry> = (start..(start + 5_000).min(to))
            .map(|i| NewEntry {
                kind: "ShareRequestSent".into(),
                partner_id: Some(partner(i)),
                share_request_id: Some(Uuid::from_u128(0x9000_0000_0000 + (i / 5) as u128)),
                source_event: None,
                body: json!({"v": 1, "kind": "ShareRequestSent", "at": "2026-12-03T10:00:00.000000Z", "partner_id": partner(i).to_string(),
                             "facts": {"documents": ["internal-passport"], "recipient_email": "x2lzm1oYtmMfg3OewIKhs0o0RHGYdNiEhNeBQZzUbQg="}}),
                citizen: None,
            })
            .collect();
        let mut tx = pool.begin().await.expect("a transaction");
        append(&mut tx, &entries).await.expect("append");
        tx.commit().await.expect("commit");
    }
}

async fn bench_export(pool: &PgPool, sizes: &[usize], seal: &dyn Seal, key: &LogKey, certificates: &str) {
    let mut filled = 0;
    for &n in sizes {
        fill_trail(pool, filled, n).await;
        filled = n;
        let checkpoint = checkpoint_now(pool, key.name(), key, seal, Utc::now()).await.expect("a checkpoint");
        let (lines, mut received) = tokio::sync::mpsc::channel::<String>(1024);
        let bytes = Arc::new(AtomicU64::new(0));
        let counted = bytes.clone();
        let drain = tokio::spawn(async move {
            while let Some(line) = received.recv().await {
                counted.fetch_add(line.len() as u64 + 1, Ordering::Relaxed);
            }
        });
        let before = rss_kib();
        let peak = Arc::new(AtomicU64::new(before));
        let sampling = {
            let peak = peak.clone();
            tokio::spawn(async move {
                loop {
                    peak.fetch_max(rss_kib(), Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        };
        let log_key = key.verifier_key();
        let context = ExportContext { checkpoint: &checkpoint, log_key: &log_key, certificates, seal, now: Utc::now() };
        let started = Instant::now();
        let written = export(pool, &ExportFilter::default(), ExportFormat::JsonLines, &context, lines).await.expect("export");
        let seconds = started.elapsed().as_secs_f64();
        drain.await.expect("drained");
        sampling.abort();
        // The baseline after the export: its one big read would otherwise leave the heap grown.
        let started = Instant::now();
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT idx, entry FROM audit_entries ORDER BY idx").fetch_all(pool).await.expect("read");
        let reading = rows.len() as f64 / started.elapsed().as_secs_f64();
        drop(rows);
        println!(
            "| export, JSON Lines with proofs | {written} entries | {:.0} rows/s, {:.0} MB, peak RSS +{:.1} MB | reading the entries alone {reading:.0} rows/s | {:.0}% |",
            written as f64 / seconds,
            bytes.load(Ordering::Relaxed) as f64 / 1e6,
            (peak.load(Ordering::Relaxed).saturating_sub(before)) as f64 / 1024.0,
            100.0 * written as f64 / seconds / reading
        );
    }
}

async fn bench_entry_cost(pool: &PgPool) {
    sqlx::query("CREATE TABLE bench_plain (id bigserial PRIMARY KEY, entry text NOT NULL)").execute(pool).await.expect("a table");
    let access = Access {
        kind: "access.search",
        partner_id: Some(partner(0)),
        share_request_id: None,
        actor_role: "partner-head",
        actor_id: "3124502180".into(),
        facts: vec![("results", json!(3))],
        committed: vec![("name", "Їжакевич".into())],
    };
    let runs = 2_000;
    let started = Instant::now();
    for _ in 0..runs {
        let mut tx = pool.begin().await.expect("a transaction");
        sqlx::query("INSERT INTO bench_plain (entry) VALUES ($1)").bind("x".repeat(400)).execute(&mut *tx).await.expect("insert");
        tx.commit().await.expect("commit");
    }
    let plain = started.elapsed().as_secs_f64() * 1000.0 / runs as f64;
    let started = Instant::now();
    for _ in 0..runs {
        record_access(pool, &access, Utc::now()).await.expect("an entry");
    }
    let entry = started.elapsed().as_secs_f64() * 1000.0 / runs as f64;
    println!(
        "| one audit entry (own transaction, one at a time) | {runs} entries | {entry:.2} ms each | a one-row insert in its own transaction {plain:.2} ms | {:.1}× |",
        entry / plain
    );
}

fn main() {
    let sizes: Vec<usize> = std::env::var("DIIA_QR_BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    // `DIIA_QR_BENCH_PARTS=rebuild` (or any of search, rebuild, entry, export) runs only those.
    let parts = std::env::var("DIIA_QR_BENCH_PARTS").unwrap_or_else(|_| "search,rebuild,entry,export".into());
    let part = |name: &str| parts.split(',').any(|p| p.trim() == name);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let pki_dir = std::env::temp_dir().join(format!("diia-qr-bench-pki-{}", Uuid::new_v4().simple()));
        let (_, seal) = DevPki::load_or_create(&pki_dir).expect("a development seal");
        let certificates = seal.trust_anchors_pem().expect("anchors");
        let keys = KeyRing::derive(&[9u8; 32], KeyGenerations::default()).expect("keys");
        let log_key = LogKey::from_raw("bench.diia-qr/audit", keys.key(KeyPurpose::AuditLog).seed()).expect("a log key");
        println!("| what | size | measured | baseline, same run | ratio |\n|---|---|---|---|---|");
        for &n in &sizes {
            let pg = tokio::task::spawn_blocking(EmbeddedPostgres::start_throwaway).await.expect("spawned").expect("a cluster");
            pg.create_database("bench").expect("a database");
            let pool = sqlx::postgres::PgPoolOptions::new().max_connections(8).connect(&pg.database_url("bench")).await.expect("connect");
            diia_qr_projections::MIGRATOR.run(&pool).await.expect("migrations");
            if part("search") {
                bench_search(&pool, n, &keys).await;
            }
            if part("rebuild") {
                bench_rebuild(&pool, n).await;
            }
            pool.close().await;
        }
        let pg = tokio::task::spawn_blocking(EmbeddedPostgres::start_throwaway).await.expect("spawned").expect("a cluster");
        pg.create_database("bench").expect("a database");
        let pool = sqlx::postgres::PgPoolOptions::new().max_connections(8).connect(&pg.database_url("bench")).await.expect("connect");
        diia_qr_projections::MIGRATOR.run(&pool).await.expect("migrations");
        if part("entry") {
            bench_entry_cost(&pool).await;
        }
        if part("export") {
            bench_export(&pool, &sizes, &seal, &log_key, &certificates).await;
        }
        let _ = std::fs::remove_dir_all(&pki_dir);
    });
}
