//! The trail in PostgreSQL: appending entries with their complete subtrees, reading roots and
//! proofs from those subtrees, the salts personal values are committed with, and checkpoints.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::audit::subtrees::{consistency_plan, fold, inclusion_plan, root_plan, Frontier, NodeId};
use crate::audit::tree::{leaf_hash, Hash, ProofError};
use crate::audit::{canonical_json, sign_note, CanonicalError, Checkpoint, LogKey, NoteError};
use crate::seal::{Seal, SealError};

#[derive(Debug, thiserror::Error)]
pub enum TrailError {
    #[error("база даних: {0}")]
    Database(#[from] sqlx::Error),
    #[error("запис аудиту не має канонічного вигляду: {0}")]
    Canonical(#[from] CanonicalError),
    #[error("{0}")]
    Proof(#[from] ProofError),
    #[error("контрольну точку не підписано: {0}")]
    Note(#[from] NoteError),
    #[error("контрольну точку не запечатано: {0}")]
    Seal(#[from] SealError),
    #[error("журнал аудиту пошкоджено: бракує вузла {level}/{index}")]
    MissingNode { level: u8, index: u64 },
    #[error("журнал аудиту ще не має жодного запису")]
    Empty,
    #[error("запис аудиту пошкоджено: {0}")]
    Corrupt(String),
    #[error("вивантаження перервано: одержувач закрив з'єднання")]
    Closed,
}

/// An entry to append: its body (hashed as canonical JSON) and what it is filed under.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub kind: String,
    pub partner_id: Option<Uuid>,
    pub share_request_id: Option<Uuid>,
    pub source_event: Option<i64>,
    pub body: serde_json::Value,
    /// The citizen it concerns, as a keyed digest, and the scope whose erasure unlinks it.
    pub citizen: Option<(Vec<u8>, String)>,
}

/// Appends entries in order, with every complete subtree they complete; returns their indexes.
/// Runs in the caller's transaction and holds the trail's head row until it commits.
pub async fn append(conn: &mut PgConnection, entries: &[NewEntry]) -> Result<Vec<u64>, TrailError> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let size: i64 = sqlx::query_scalar("SELECT size FROM audit_head FOR UPDATE").fetch_one(&mut *conn).await?;
    let size = size as u64;
    let plan = root_plan(size);
    let stored = node_hashes(conn, &plan).await?;
    let hashes: Vec<Hash> = plan.iter().map(|id| stored[id]).collect();
    let mut frontier = Frontier::new(size, &hashes).ok_or(TrailError::MissingNode { level: 0, index: size })?;
    let mut indexes = Vec::with_capacity(entries.len());
    // Each entry names the previous entry of its partner and of its share request: a line
    // dropped from a filtered export breaks the chain at a place the verifier can name.
    let mut chain_heads = chain_heads(conn, entries).await?;
    let (mut levels, mut node_indexes, mut node_hashes_out) = (Vec::new(), Vec::new(), Vec::new());
    let (mut idxs, mut texts, mut leaves, mut kinds, mut partners, mut shares, mut sources) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for entry in entries {
        let index = frontier.size();
        let mut body = entry.body.clone();
        let mut previous = serde_json::Map::new();
        for (is_share, id) in [(false, entry.partner_id), (true, entry.share_request_id)] {
            let Some(id) = id else { continue };
            let head = chain_heads.get(&(is_share, id)).copied().flatten();
            previous.insert(if is_share { "share".into() } else { "partner".into() }, serde_json::json!(head));
            chain_heads.insert((is_share, id), Some(index as i64));
        }
        if let Some(object) = body.as_object_mut() {
            object.insert("index".into(), serde_json::json!(index));
            object.insert("previous".into(), serde_json::Value::Object(previous));
        }
        let bytes = canonical_json(&body)?;
        let leaf = leaf_hash(&bytes);
        for (id, hash) in frontier.push(leaf) {
            levels.push(i16::from(id.level));
            node_indexes.push(id.index as i64);
            node_hashes_out.push(hash.to_vec());
        }
        idxs.push(index as i64);
        // Canonical JSON is UTF-8 by construction (RFC 8785 §3.2.4).
        texts.push(String::from_utf8(bytes).unwrap_or_default());
        leaves.push(leaf.to_vec());
        kinds.push(entry.kind.clone());
        partners.push(entry.partner_id);
        shares.push(entry.share_request_id);
        sources.push(entry.source_event);
        indexes.push(index);
    }
    sqlx::query(
        "INSERT INTO audit_entries (idx, entry, leaf_hash, kind, partner_id, share_request_id, source_event)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::bytea[], $4::text[], $5::uuid[], $6::uuid[], $7::bigint[])",
    )
    .bind(&idxs)
    .bind(&texts)
    .bind(&leaves)
    .bind(&kinds)
    .bind(&partners)
    .bind(&shares)
    .bind(&sources)
    .execute(&mut *conn)
    .await?;
    sqlx::query("INSERT INTO audit_nodes (level, idx, hash) SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])")
        .bind(&levels)
        .bind(&node_indexes)
        .bind(&node_hashes_out)
        .execute(&mut *conn)
        .await?;
    let (mut digests, mut entry_idx, mut scopes) = (Vec::new(), Vec::new(), Vec::new());
    for (entry, index) in entries.iter().zip(&indexes) {
        if let Some((digest, scope)) = &entry.citizen {
            digests.push(digest.clone());
            entry_idx.push(*index as i64);
            scopes.push(scope.clone());
        }
    }
    if !digests.is_empty() {
        sqlx::query(
            "INSERT INTO audit_citizen_entries (citizen_digest, idx, scope) SELECT * FROM unnest($1::bytea[], $2::bigint[], $3::text[])",
        )
        .bind(&digests)
        .bind(&entry_idx)
        .bind(&scopes)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query("UPDATE audit_head SET size = $1").bind(frontier.size() as i64).execute(&mut *conn).await?;
    Ok(indexes)
}

/// The newest entry of each partner's and share request's chain these entries continue (keyed
/// `(is_share, id)`; None for a chain not started), in one statement.
async fn chain_heads(conn: &mut PgConnection, entries: &[NewEntry]) -> Result<HashMap<(bool, Uuid), Option<i64>>, TrailError> {
    let distinct = |ids: Vec<Uuid>| {
        let mut ids = ids;
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let partners = distinct(entries.iter().filter_map(|e| e.partner_id).collect());
    let shares = distinct(entries.iter().filter_map(|e| e.share_request_id).collect());
    let rows = sqlx::query(
        "SELECT false AS share, p.id, (SELECT max(e.idx) FROM audit_entries e WHERE e.partner_id = p.id) AS last
           FROM unnest($1::uuid[]) AS p(id)
         UNION ALL
         SELECT true, s.id, (SELECT max(e.idx) FROM audit_entries e WHERE e.share_request_id = s.id)
           FROM unnest($2::uuid[]) AS s(id)",
    )
    .bind(&partners)
    .bind(&shares)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(|row| Ok(((row.try_get("share")?, row.try_get("id")?), row.try_get("last")?))).collect()
}

/// The stored hashes of these complete subtrees.
async fn node_hashes(conn: &mut PgConnection, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>, TrailError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let levels: Vec<i16> = ids.iter().map(|id| i16::from(id.level)).collect();
    let indexes: Vec<i64> = ids.iter().map(|id| id.index as i64).collect();
    let rows = sqlx::query(
        "SELECT n.level, n.idx, n.hash FROM audit_nodes n
           JOIN unnest($1::smallint[], $2::bigint[]) AS wanted(level, idx) ON n.level = wanted.level AND n.idx = wanted.idx",
    )
    .bind(&levels)
    .bind(&indexes)
    .fetch_all(&mut *conn)
    .await?;
    let mut found = HashMap::with_capacity(rows.len());
    for row in rows {
        let level: i16 = row.try_get("level")?;
        let index: i64 = row.try_get("idx")?;
        let hash: Vec<u8> = row.try_get("hash")?;
        let id = NodeId { level: level as u8, index: index as u64 };
        found.insert(id, hash.try_into().map_err(|_| TrailError::MissingNode { level: id.level, index: id.index })?);
    }
    if let Some(missing) = ids.iter().find(|id| !found.contains_key(id)) {
        return Err(TrailError::MissingNode { level: missing.level, index: missing.index });
    }
    Ok(found)
}

/// Folds each plan item's stored hashes: the proof a plan describes.
async fn proof_of(conn: &mut PgConnection, plan: &[Vec<NodeId>]) -> Result<Vec<Hash>, TrailError> {
    let ids: Vec<NodeId> = plan.iter().flatten().copied().collect();
    let stored = node_hashes(conn, &ids).await?;
    Ok(plan.iter().map(|item| fold(&item.iter().map(|id| stored[id]).collect::<Vec<_>>())).collect())
}

/// The number of entries appended so far.
pub async fn size(pool: &PgPool) -> Result<u64, TrailError> {
    let size: i64 = sqlx::query_scalar("SELECT size FROM audit_head").fetch_one(pool).await?;
    Ok(size as u64)
}

/// The root of the tree of the first `size` entries.
pub async fn root_at(conn: &mut PgConnection, size: u64) -> Result<Hash, TrailError> {
    // One plan item, the whole tree: its fold is the root (the empty root for no entries).
    Ok(proof_of(conn, &[root_plan(size)]).await?.remove(0))
}

/// Entry `index`'s inclusion proof in the tree of `size` entries.
pub async fn inclusion_proof(conn: &mut PgConnection, index: u64, size: u64) -> Result<Vec<Hash>, TrailError> {
    proof_of(conn, &inclusion_plan(index, size)?).await
}

/// The consistency proof from the tree of `old_size` entries to the tree of `new_size`.
pub async fn consistency_proof(conn: &mut PgConnection, old_size: u64, new_size: u64) -> Result<Vec<Hash>, TrailError> {
    proof_of(conn, &consistency_plan(old_size, new_size)?).await
}

/// Inclusion proofs of many entries in one tree, for an export: the subtrees they share are
/// read once.
pub async fn inclusion_proofs(conn: &mut PgConnection, indexes: &[u64], size: u64) -> Result<Vec<Vec<Hash>>, TrailError> {
    let plans = indexes.iter().map(|&i| inclusion_plan(i, size)).collect::<Result<Vec<_>, _>>()?;
    let mut ids: Vec<NodeId> = plans.iter().flatten().flatten().copied().collect();
    ids.sort_unstable();
    ids.dedup();
    let stored = node_hashes(conn, &ids).await?;
    Ok(plans.iter().map(|plan| plan.iter().map(|item| fold(&item.iter().map(|id| stored[id]).collect::<Vec<_>>())).collect()).collect())
}

/// The secret a scope's personal values are committed with: made on first use. An erased
/// scope gets a throwaway salt, never stored: what is committed under it can never be opened.
pub async fn salt_for(conn: &mut PgConnection, scope: &str) -> Result<Vec<u8>, TrailError> {
    let scope = scope.to_string();
    let mut salts = salts_for(conn, std::slice::from_ref(&scope)).await?;
    Ok(salts.remove(&scope).unwrap_or_default())
}

/// [`salt_for`] each of these scopes, in one statement to make the missing ones and one to
/// read them all.
pub async fn salts_for(conn: &mut PgConnection, scopes: &[String]) -> Result<HashMap<String, Vec<u8>>, TrailError> {
    let mut distinct = scopes.to_vec();
    // In one order, so that two appenders making salts at once cannot deadlock.
    distinct.sort_unstable();
    distinct.dedup();
    let mut fresh = Vec::with_capacity(distinct.len());
    for _ in &distinct {
        let mut salt = vec![0u8; 32];
        // OpenSSL's generator fails only when the system has no entropy source at all.
        openssl::rand::rand_bytes(&mut salt).map_err(|e| sqlx::Error::Protocol(format!("no randomness: {e}")))?;
        fresh.push(salt);
    }
    sqlx::query("INSERT INTO audit_salts (scope, salt) SELECT * FROM unnest($1::text[], $2::bytea[]) ON CONFLICT DO NOTHING")
        .bind(&distinct)
        .bind(&fresh)
        .execute(&mut *conn)
        .await?;
    let rows = sqlx::query("SELECT scope, salt FROM audit_salts WHERE scope = ANY($1)").bind(&distinct).fetch_all(&mut *conn).await?;
    let mut stored = HashMap::with_capacity(rows.len());
    for row in rows {
        stored.insert(row.try_get::<String, _>("scope")?, row.try_get::<Option<Vec<u8>>, _>("salt")?);
    }
    Ok(distinct
        .into_iter()
        .zip(fresh)
        .map(|(scope, fresh)| {
            let salt = stored.remove(&scope).flatten().unwrap_or(fresh);
            (scope, salt)
        })
        .collect())
}

/// The salts of these scopes that still exist (erased ones are absent).
pub async fn salts(conn: &mut PgConnection, scopes: &[String]) -> Result<HashMap<String, Vec<u8>>, TrailError> {
    let rows = sqlx::query("SELECT scope, salt FROM audit_salts WHERE scope = ANY($1) AND salt IS NOT NULL")
        .bind(scopes)
        .fetch_all(&mut *conn)
        .await?;
    rows.into_iter().map(|row| Ok((row.try_get("scope")?, row.try_get("salt")?))).collect()
}

/// Forgets a scope's salt and its citizen links: its commitments can no longer be opened nor its
/// entries found by the citizen's number. The entries and every proof stay.
pub async fn erase_scope(conn: &mut PgConnection, scope: &str) -> Result<(), TrailError> {
    sqlx::query(
        "INSERT INTO audit_salts (scope, salt, erased_at) VALUES ($1, NULL, now())
         ON CONFLICT (scope) DO UPDATE SET salt = NULL, erased_at = coalesce(audit_salts.erased_at, now())",
    )
    .bind(scope)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM audit_citizen_entries WHERE scope = $1").bind(scope).execute(&mut *conn).await?;
    sqlx::query("UPDATE audit_owners SET citizen_digest = NULL WHERE $1 = 'share:' || aggregate_id")
        .bind(scope)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A signed checkpoint as stored and served.
#[derive(Debug, Clone)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub note: String,
    pub cms: Vec<u8>,
    pub signed_at: DateTime<Utc>,
}

/// Signs a checkpoint of the whole trail unless the newest one already covers it; returns the
/// newest. The note is signed with the log key and its body sealed as detached CMS.
pub async fn checkpoint_now(
    pool: &PgPool,
    origin: &str,
    key: &LogKey,
    seal: &dyn Seal,
    now: DateTime<Utc>,
) -> Result<SignedCheckpoint, TrailError> {
    let mut tx = pool.begin().await?;
    // The head's lock keeps appends out while the root is read, so size and root agree.
    let size: i64 = sqlx::query_scalar("SELECT size FROM audit_head FOR SHARE").fetch_one(&mut *tx).await?;
    let size = size as u64;
    if let Some(latest) = latest_checkpoint_in(&mut tx).await? {
        if latest.checkpoint.size == size {
            return Ok(latest);
        }
    }
    let root = root_at(&mut tx, size).await?;
    let checkpoint = Checkpoint { origin: origin.to_string(), size, root };
    let note = sign_note(key, &checkpoint)?;
    let cms = seal.sign_detached(checkpoint.body().as_bytes(), now)?;
    // Another instance may have signed this size meanwhile: the first one stays.
    sqlx::query("INSERT INTO audit_checkpoints (size, root, note, cms) VALUES ($1, $2, $3, $4) ON CONFLICT (size) DO NOTHING")
        .bind(size as i64)
        .bind(root.to_vec())
        .bind(&note)
        .bind(&cms)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    latest_checkpoint(pool).await?.ok_or(TrailError::Empty)
}

/// The newest signed checkpoint, if any.
pub async fn latest_checkpoint(pool: &PgPool) -> Result<Option<SignedCheckpoint>, TrailError> {
    let mut conn = pool.acquire().await?;
    latest_checkpoint_in(&mut conn).await
}

async fn latest_checkpoint_in(conn: &mut PgConnection) -> Result<Option<SignedCheckpoint>, TrailError> {
    let row = sqlx::query("SELECT size, root, note, cms, signed_at FROM audit_checkpoints ORDER BY size DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|row| -> Result<SignedCheckpoint, TrailError> {
        let note: String = row.try_get("note")?;
        let size: i64 = row.try_get("size")?;
        let body = note.split_once("\n\n").map_or(note.as_str(), |(body, _)| body);
        let checkpoint = Checkpoint::parse_body(&format!("{body}\n"))?;
        debug_assert_eq!(checkpoint.size, size as u64);
        Ok(SignedCheckpoint { checkpoint, note, cms: row.try_get("cms")?, signed_at: row.try_get("signed_at")? })
    })
    .transpose()
}
