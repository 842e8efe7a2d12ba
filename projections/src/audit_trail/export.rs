//! The export: a header with the signed checkpoint, the certificates and a sealed manifest of
//! exactly which entries follow, then one line per entry with its inclusion proof and evidence.
//! Streamed in chunks, so memory stays flat however many entries there are.

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::{PgPool, Postgres, QueryBuilder, Row};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::entries::{partner_scope, share_scope};
use super::store::{inclusion_proofs, salts, SignedCheckpoint, TrailError};
use crate::audit::canonical_json;
use crate::seal::Seal;

/// The export format's name, in every header.
pub const FORMAT: &str = "diia-qr-audit/1";

/// Which entries an export holds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExportFilter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_id: Option<Uuid>,
    /// The citizen's keyed digest (base64), never the number itself.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "as_base64")]
    pub citizen_digest: Option<Vec<u8>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<DateTime<Utc>>,
}

fn as_base64<S: serde::Serializer>(value: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(bytes) => s.serialize_str(&STANDARD.encode(bytes)),
        None => s.serialize_none(),
    }
}

impl ExportFilter {
    /// The filter as the manifest states it: timestamps in the entries' own form.
    fn describe(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or_else(|_| json!({}));
        if let Some(object) = v.as_object_mut() {
            for key in ["from", "to"] {
                if let Some(at) = if key == "from" { self.from } else { self.to } {
                    object.insert(key.into(), json!(super::entries::timestamp(at)));
                }
            }
        }
        v
    }
}

/// Line format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    JsonLines,
    Csv,
}

/// What the header carries besides the checkpoint.
pub struct ExportContext<'a> {
    pub checkpoint: &'a SignedCheckpoint,
    pub log_key: &'a str,
    /// PEM of the CAs that verify the seal and the citizens' consent signatures.
    pub certificates: &'a str,
    pub seal: &'a dyn Seal,
    pub now: DateTime<Utc>,
}

const CHUNK: i64 = 1_000;

/// The condition of the entries `filter` selects below `size`, with only the filters given: a
/// condition like `$2 IS NULL OR …` would let a cached generic plan scan every entry per chunk.
fn push_filter<'a>(sql: &mut QueryBuilder<'a, Postgres>, size: u64, filter: &'a ExportFilter) {
    sql.push(" idx < ").push_bind(size as i64);
    if let Some(partner) = filter.partner_id {
        sql.push(" AND partner_id = ").push_bind(partner);
    }
    if let Some(digest) = &filter.citizen_digest {
        sql.push(" AND idx IN (SELECT idx FROM audit_citizen_entries WHERE citizen_digest = ").push_bind(digest).push(")");
    }
    if let Some(from) = filter.from {
        sql.push(" AND recorded_at >= ").push_bind(from);
    }
    if let Some(to) = filter.to {
        sql.push(" AND recorded_at < ").push_bind(to);
    }
}

/// Streams the export of the entries `filter` selects from the tree of `context.checkpoint`;
/// returns how many entries were written. Each line goes to `lines` as it is made.
pub async fn export(
    pool: &PgPool,
    filter: &ExportFilter,
    format: ExportFormat,
    context: &ExportContext<'_>,
    lines: mpsc::Sender<String>,
) -> Result<u64, TrailError> {
    let size = context.checkpoint.checkpoint.size;
    let mut sql = QueryBuilder::new(
        "SELECT count(*) AS entries,
                encode(sha256(convert_to(coalesce(string_agg(idx::text, ',' ORDER BY idx), ''), 'UTF8')), 'hex') AS digest
           FROM audit_entries WHERE",
    );
    push_filter(&mut sql, size, filter);
    let manifest_row = sql.build().fetch_one(pool).await?;
    let count: i64 = manifest_row.try_get("entries")?;
    let digest: String = manifest_row.try_get("digest")?;
    // What exactly follows, sealed: a line dropped from a filtered export shows as a gap here.
    let manifest = json!({
        "format": FORMAT,
        "tree_size": size,
        "filter": filter.describe(),
        "entries": count,
        "indexes_sha256": digest,
    });
    let manifest_cms = context.seal.sign_detached(&canonical_json(&manifest)?, context.now)?;
    let header = json!({
        "format": FORMAT,
        "origin": context.checkpoint.checkpoint.origin,
        "log_key": context.log_key,
        "checkpoint": context.checkpoint.note,
        "checkpoint_cms": STANDARD.encode(&context.checkpoint.cms),
        "certificates": context.certificates,
        "filter": filter.describe(),
        "manifest": manifest,
        "manifest_cms": STANDARD.encode(manifest_cms),
    });
    let send = |line: String| {
        let lines = lines.clone();
        async move { lines.send(line).await.map_err(|_| TrailError::Closed) }
    };
    match format {
        ExportFormat::JsonLines => send(header.to_string()).await?,
        ExportFormat::Csv => send(csv_row(&CSV_COLUMNS.map(String::from))).await?,
    }

    let mut conn = pool.acquire().await?;
    let mut after: i64 = -1;
    let mut written = 0u64;
    loop {
        let mut sql =
            QueryBuilder::new("SELECT idx, entry, kind, share_request_id, partner_id, source_event, recorded_at FROM audit_entries WHERE");
        push_filter(&mut sql, size, filter);
        sql.push(" AND idx > ").push_bind(after).push(" ORDER BY idx LIMIT ").push_bind(CHUNK);
        let rows = sql.build().fetch_all(&mut *conn).await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get("idx")?;
        let chunk = rows
            .iter()
            .map(|row| {
                Ok(ChunkEntry {
                    index: row.try_get::<i64, _>("idx")? as u64,
                    entry: row.try_get("entry")?,
                    kind: row.try_get("kind")?,
                    share_request_id: row.try_get("share_request_id")?,
                    partner_id: row.try_get("partner_id")?,
                    source_event: row.try_get("source_event")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let proofs = inclusion_proofs(&mut conn, &chunk.iter().map(|e| e.index).collect::<Vec<_>>(), size).await?;
        let scopes: Vec<String> = chunk.iter().map(ChunkEntry::scope).collect();
        let salts = salts(&mut conn, &scopes).await?;
        let consents = consent_evidence(&mut conn, &chunk).await?;
        for ((entry, proof), scope) in chunk.iter().zip(proofs).zip(&scopes) {
            let body: Value = serde_json::from_str(&entry.entry).map_err(|e| TrailError::Corrupt(e.to_string()))?;
            let line = match format {
                ExportFormat::JsonLines => {
                    let mut evidence = serde_json::Map::new();
                    match salts.get(scope) {
                        Some(salt) => {
                            evidence.insert("salt".into(), json!(STANDARD.encode(salt)));
                            if let Some(consent) = entry.source_event.and_then(|id| consents.get(&id)) {
                                evidence.insert("consent".into(), consent.clone());
                            }
                        }
                        None => {
                            evidence.insert("erased".into(), json!(true));
                        }
                    }
                    json!({
                        "index": entry.index,
                        "entry": body,
                        "inclusion_proof": proof.iter().map(|h| STANDARD.encode(h)).collect::<Vec<_>>(),
                        "evidence": evidence,
                    })
                    .to_string()
                }
                ExportFormat::Csv => csv_row(&csv_fields(entry.index, &body)),
            };
            send(line).await?;
            written += 1;
        }
    }
    Ok(written)
}

struct ChunkEntry {
    index: u64,
    entry: String,
    kind: String,
    share_request_id: Option<Uuid>,
    partner_id: Option<Uuid>,
    source_event: Option<i64>,
}

impl ChunkEntry {
    fn scope(&self) -> String {
        match (self.share_request_id, self.partner_id) {
            (Some(share), _) => share_scope(share),
            (None, Some(partner)) => partner_scope(partner),
            (None, None) => "service".into(),
        }
    }
}

/// The signed statements and signatures of the consent entries in `chunk`, by event.
async fn consent_evidence(conn: &mut sqlx::PgConnection, chunk: &[ChunkEntry]) -> Result<HashMap<i64, Value>, TrailError> {
    let ids: Vec<i64> = chunk.iter().filter(|e| e.kind == "ShareRequestConsentSigned").filter_map(|e| e.source_event).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query("SELECT global_id, payload, aggregate_id, sequence, event_type FROM events WHERE global_id = ANY($1)")
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await?;
    let share_ids: Vec<String> = rows.iter().filter_map(|r| r.try_get::<String, _>("aggregate_id").ok()).collect();
    let keys = crate::personal_data::data_keys(conn, &share_ids.iter().map(String::as_str).collect::<Vec<_>>())
        .await
        .map_err(|e| TrailError::Corrupt(e.to_string()))?;
    let mut found = HashMap::new();
    for row in rows {
        let mut payload: Value = row.try_get("payload")?;
        let aggregate_id: String = row.try_get("aggregate_id")?;
        let key = keys.get(&aggregate_id).cloned().unwrap_or(crate::personal_data::DataKey::None);
        crate::personal_data::open(&mut payload, &aggregate_id, row.try_get("sequence")?, &row.try_get::<String, _>("event_type")?, &key)
            .map_err(|e| TrailError::Corrupt(e.to_string()))?;
        if crate::personal_data::is_erased(&payload) {
            continue;
        }
        let signed = &payload["ConsentSigned"];
        if let (Some(statement), Some(signature)) = (signed["statement"].as_str(), signed["signature_base64"].as_str()) {
            found.insert(row.try_get("global_id")?, json!({"statement": statement, "signature": signature}));
        }
    }
    Ok(found)
}

const CSV_COLUMNS: [&str; 8] = ["index", "at", "kind", "partner_id", "share_request_id", "actor_role", "actor_id", "facts"];

fn csv_fields(index: u64, body: &Value) -> [String; 8] {
    let text = |v: &Value| v.as_str().map(str::to_string).unwrap_or_default();
    [
        index.to_string(),
        text(&body["at"]),
        text(&body["kind"]),
        text(&body["partner_id"]),
        text(&body["share_request_id"]),
        text(&body["actor"]["role"]),
        text(&body["actor"]["id"]),
        body["facts"].to_string(),
    ]
}

/// One CSV record (RFC 4180), without its line break.
fn csv_row(fields: &[String]) -> String {
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    // Writing to memory cannot fail.
    let _ = writer.write_record(fields);
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes).trim_end_matches('\n').to_string()
}
