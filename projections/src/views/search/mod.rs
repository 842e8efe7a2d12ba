//! The search index of received documents: one row per copy a partner received, found by the
//! holder's name (typos, case, apostrophes and the official Latin spelling forgiven), document
//! type, number, РНОКПП, branch, service and time received; sorted by relevance or date; paged
//! with a keyset cursor (`cursor`). Every query is scoped to one partner in SQL, whatever else
//! it asks.
//!
//! Names are matched with pg_trgm's word similarity against a search text that holds each name
//! word folded (`translit::fold`) and in its KMU-55 transliteration, plus the `simple` full-text
//! vector of the same text for prefixes and exact words. The Latin half is what makes matching
//! independent of the database's locale: under the `C` locale pg_trgm sees no trigram in
//! Cyrillic, and every query word is also tried in Latin.
//!
//! The index keeps what a partner needs to find a copy and no more: the holder's name, the
//! document's number, the РНОКПП shown on the share's copies; never the other fields.

pub mod cursor;
pub mod translit;

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Kyiv;
use cqrs_es::Aggregate;
use diia_qr_domain::documents::{DocumentType, FieldKind, HeldDocument};
use diia_qr_domain::identifiers::Rnokpp;
use diia_qr_domain::share_request::{ShareRequest, ShareRequestEvent, ShareSnapshot};
use diia_qr_domain::{RuleKind, RuleViolation};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::keys::PurposeKey;
use crate::log::{FailedAt, Projection, ProjectionError, StoredEvent};
use cursor::{CursorError, CursorPosition, FiltersDigest};
use translit::WordForms;

/// The search index: `search_documents` (one row per received copy) and `search_pending_shares`
/// (what a scan's snapshot says about a share until its copies arrive; no personal data).
pub struct SearchIndex;

#[async_trait]
impl Projection for SearchIndex {
    fn name(&self) -> &'static str {
        "search_index"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["search_documents", "search_pending_shares"]
    }

    async fn apply(&self, conn: &mut PgConnection, event: &StoredEvent) -> Result<(), ProjectionError> {
        self.apply_all(conn, std::slice::from_ref(event)).await.map_err(|failed| failed.error)
    }

    /// A batch folded per share, then written in at most five set-based statements.
    async fn apply_all(&self, conn: &mut PgConnection, events: &[StoredEvent]) -> Result<(), FailedAt> {
        let mut changes = IndexChanges::default();
        for (index, event) in events.iter().enumerate() {
            if event.aggregate_type != ShareRequest::TYPE {
                continue;
            }
            let Ok(share_id) = event.aggregate_id.parse::<Uuid>() else {
                continue; // ids are always UUIDs; anything else is not ours to index
            };
            let decoded = event.decode::<ShareRequestEvent>().map_err(|e| FailedAt { index, error: ProjectionError::decode(event, e) })?;
            changes.add(share_id, decoded);
        }
        changes.write(conn).await.map_err(FailedAt::batch)
    }
}

/// What one batch does to the index. One by one, a share's events would: remember its scan's
/// context (opened), index its copies under that context and forget it (sent), mark its
/// delivery, forget the context (declined, expired) or everything (erased). The statements run
/// in that order, so a batch ends where the events one by one would.
#[derive(Default)]
struct IndexChanges {
    pending: Vec<(Uuid, ShareSnapshot)>,
    copies: Vec<ReceivedCopy>,
    delivery: HashMap<Uuid, DeliveryState>,
    forget_context: Vec<Uuid>,
    erased: Vec<Uuid>,
}

/// A copy to index, with its share's place in the index.
struct ReceivedCopy {
    share_id: Uuid,
    copy_index: i32,
    copy: IndexedCopy,
    rnokpp: Option<String>,
    received_at: DateTime<Utc>,
}

impl IndexChanges {
    fn add(&mut self, share_id: Uuid, event: ShareRequestEvent) {
        match event {
            ShareRequestEvent::Opened { snapshot, .. } => self.pending.push((share_id, snapshot)),
            ShareRequestEvent::Sent { copies, sent_at, .. } => {
                // One person's share: every РНОКПП on its copies is theirs, so each copy is found by it.
                let rnokpp =
                    copies.iter().flat_map(|d| &d.fields).find(|f| f.kind == FieldKind::TaxpayerNumber).map(|f| f.value.trim().to_string());
                // A share holds one copy per requested type: far fewer than i32::MAX.
                for (copy_index, copy) in (0..).zip(&copies) {
                    let copy = IndexedCopy::of(copy);
                    self.copies.push(ReceivedCopy { share_id, copy_index, copy, rnokpp: rnokpp.clone(), received_at: sent_at });
                }
                self.forget_context.push(share_id);
            }
            ShareRequestEvent::Delivered { .. } => {
                self.delivery.insert(share_id, DeliveryState::Delivered);
            }
            ShareRequestEvent::DeliveryFailed { .. } => {
                self.delivery.insert(share_id, DeliveryState::Failed);
            }
            ShareRequestEvent::Declined { .. } | ShareRequestEvent::Expired { .. } => self.forget_context.push(share_id),
            // Erased: nothing of the share is found any more.
            ShareRequestEvent::PersonalDataErased { .. } => {
                self.forget_context.push(share_id);
                self.erased.push(share_id);
            }
            ShareRequestEvent::DocumentsChosen { .. }
            | ShareRequestEvent::PhotoVerified { .. }
            | ShareRequestEvent::ConsentSigned { .. } => {}
        }
    }

    async fn write(self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        if !self.pending.is_empty() {
            let p = &self.pending;
            sqlx::query(
                "INSERT INTO search_pending_shares (share_request_id, partner_id, branch_id, branch_name, service_id, service_names)
                 SELECT u.id, u.partner_id, u.branch_id, u.branch_name, u.service_id,
                        -- An array of arrays does not unnest row by row: each row's names come as JSON.
                        ARRAY(SELECT n.name FROM jsonb_array_elements_text(u.names) WITH ORDINALITY AS n (name, i) ORDER BY n.i)
                   FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::uuid[], $6::jsonb[])
                        AS u (id, partner_id, branch_id, branch_name, service_id, names)
                 ON CONFLICT DO NOTHING",
            )
            .bind(p.iter().map(|(id, _)| *id).collect::<Vec<_>>())
            .bind(p.iter().map(|(_, s)| s.partner_id).collect::<Vec<_>>())
            .bind(p.iter().map(|(_, s)| s.branch_id).collect::<Vec<_>>())
            .bind(p.iter().map(|(_, s)| s.branch_name.as_str()).collect::<Vec<_>>())
            .bind(p.iter().map(|(_, s)| s.service_id).collect::<Vec<_>>())
            .bind(p.iter().map(|(_, s)| serde_json::to_value(&s.service_names).unwrap_or_default()).collect::<Vec<_>>())
            .execute(&mut *conn)
            .await?;
        }
        if !self.copies.is_empty() {
            // Each copy under the context its share's scan recorded.
            let c = &self.copies;
            sqlx::query(
                "INSERT INTO search_documents
                     (share_request_id, copy_index, partner_id, branch_id, branch_name, service_id, service_names, document_type,
                      holder_name, search_text, document_number, document_number_key, rnokpp, received_at, delivery_state)
                 SELECT p.share_request_id, c.copy_index, p.partner_id, p.branch_id, p.branch_name, p.service_id, p.service_names,
                        c.document_type, c.holder_name, c.search_text, c.document_number, c.document_number_key, c.rnokpp,
                        c.received_at, 'sent'
                   FROM UNNEST($1::uuid[], $2::integer[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                               $8::text[], $9::timestamptz[])
                        AS c (share_request_id, copy_index, document_type, holder_name, search_text, document_number,
                              document_number_key, rnokpp, received_at)
                   -- One primary-key probe per copy, whatever the planner knows of a fresh table.
                  CROSS JOIN LATERAL (SELECT * FROM search_pending_shares p WHERE p.share_request_id = c.share_request_id) p
                 ON CONFLICT DO NOTHING",
            )
            .bind(c.iter().map(|r| r.share_id).collect::<Vec<_>>())
            .bind(c.iter().map(|r| r.copy_index).collect::<Vec<_>>())
            .bind(c.iter().map(|r| r.copy.document_type.code()).collect::<Vec<_>>())
            .bind(c.iter().map(|r| r.copy.holder_name.as_str()).collect::<Vec<_>>())
            .bind(c.iter().map(|r| r.copy.search_text.as_str()).collect::<Vec<_>>())
            .bind(c.iter().map(|r| r.copy.document_number.as_deref()).collect::<Vec<_>>())
            .bind(c.iter().map(|r| r.copy.document_number.as_deref().map(translit::document_number_key)).collect::<Vec<_>>())
            .bind(c.iter().map(|r| r.rnokpp.as_deref()).collect::<Vec<_>>())
            .bind(c.iter().map(|r| r.received_at).collect::<Vec<_>>())
            .execute(&mut *conn)
            .await?;
        }
        if !self.delivery.is_empty() {
            let mut delivery: Vec<(Uuid, DeliveryState)> = self.delivery.into_iter().collect();
            delivery.sort_unstable_by_key(|(id, _)| *id);
            sqlx::query(
                "UPDATE search_documents d SET delivery_state = u.state
                   FROM UNNEST($1::uuid[], $2::text[]) AS u (share_request_id, state)
                  WHERE d.share_request_id = u.share_request_id",
            )
            .bind(delivery.iter().map(|(id, _)| *id).collect::<Vec<_>>())
            .bind(delivery.iter().map(|(_, state)| state.as_str()).collect::<Vec<_>>())
            .execute(&mut *conn)
            .await?;
        }
        if !self.forget_context.is_empty() {
            sqlx::query("DELETE FROM search_pending_shares WHERE share_request_id = ANY($1)")
                .bind(&self.forget_context)
                .execute(&mut *conn)
                .await?;
        }
        if !self.erased.is_empty() {
            sqlx::query("DELETE FROM search_documents WHERE share_request_id = ANY($1)").bind(&self.erased).execute(conn).await?;
        }
        Ok(())
    }
}

/// What the index keeps of one copy, read off its fields by kind.
struct IndexedCopy {
    document_type: DocumentType,
    holder_name: String,
    search_text: String,
    document_number: Option<String>,
}

impl IndexedCopy {
    fn of(document: &HeldDocument) -> Self {
        let values = |kind: FieldKind| document.fields.iter().filter(move |f| f.kind == kind).map(|f| f.value.as_str());
        // A birth certificate names no holder: it is the child's, and its parent shares it.
        let mut shown: Vec<&str> = values(FieldKind::Name).collect();
        if shown.is_empty() {
            shown = values(FieldKind::Child).collect();
        }
        let searched = values(FieldKind::Name).chain(values(FieldKind::Child)).chain(values(FieldKind::Parent));
        Self {
            document_type: document.document_type,
            holder_name: shown.iter().map(|v| as_written(v)).collect::<Vec<_>>().join(" "),
            search_text: translit::search_text(searched),
            document_number: values(FieldKind::DocumentNumber)
                .chain(values(FieldKind::TaxpayerNumber))
                .next()
                .map(|v| v.trim().to_string()),
        }
    }
}

/// A name as written in Ukrainian: foreign passports print the Latin spelling after a slash
/// ("Їжакевич / IZHAKEVYCH"); the search text keeps both, the name shown only the first.
fn as_written(value: &str) -> &str {
    value.split(" / ").next().unwrap_or(value).trim()
}

/// How a received share's mail went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Sent; the mail server has not yet accepted it.
    Sent,
    Delivered,
    Failed,
}

impl DeliveryState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    fn parse(stored: &str) -> Option<Self> {
        [Self::Sent, Self::Delivered, Self::Failed].into_iter().find(|s| s.as_str() == stored)
    }
}

/// The order of the results. Ties are broken by date, newest first, then by share and copy,
/// so every result has one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchSort {
    /// Best match of the name first (without a name: the same as by date).
    Relevance,
    /// Newest first.
    Date,
}

/// One end of the time range: a calendar day in Kyiv (the whole day), or an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeBound {
    Day(NaiveDate),
    Instant(DateTime<Utc>),
}

/// What a partner asks the index. Every filter is optional; all given ones must hold.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// The holder's name, or part of it, in Cyrillic or Latin letters.
    pub name: Option<String>,
    pub document_type: Option<DocumentType>,
    pub document_number: Option<String>,
    pub rnokpp: Option<Rnokpp>,
    pub branch_id: Option<Uuid>,
    pub service_id: Option<Uuid>,
    /// Received at or after (a day: from its start).
    pub received_from: Option<TimeBound>,
    /// Received at or before (a day: to its end).
    pub received_to: Option<TimeBound>,
    /// By relevance when a name is given, otherwise by date.
    pub sort: Option<SearchSort>,
    /// Results per page: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when not given.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;
/// More words than a full name with a double surname is not a name.
pub const MAX_NAME_WORDS: usize = 6;
const MAX_NAME_CHARS: usize = 200;
/// pg_trgm's word similarity a query word needs (the default, 0.6, misses one wrong letter in
/// a six-letter name: 4 of its 7 trigrams survive).
const WORD_SIMILARITY_THRESHOLD: &str = "0.5";
/// What an exact word (or its Latin form) adds to its similarity, so exact matches rank first.
const EXACT_WORD_BONUS: f64 = 0.5;

/// One copy found.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedDocument {
    pub share_request_id: Uuid,
    /// The copy's place among the share's copies, from 0.
    pub copy_index: i32,
    pub document_type: DocumentType,
    pub holder_name: String,
    pub document_number: Option<String>,
    pub rnokpp: Option<String>,
    pub branch_id: Uuid,
    pub branch_name: String,
    pub service_id: Uuid,
    pub service_names: Vec<String>,
    pub received_at: DateTime<Utc>,
    pub delivery: DeliveryState,
    /// How well the name matched (higher is better), when a name was asked for.
    pub relevance: Option<f64>,
}

/// One page of results and the cursor of the next, if there may be more.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPage {
    pub documents: Vec<ReceivedDocument>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Query(#[from] QueryProblem),
    #[error(transparent)]
    Cursor(#[from] CursorError),
    #[error("база даних: {0}")]
    Database(#[from] sqlx::Error),
}

/// A query the index cannot answer as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryProblem {
    #[error("в імені для пошуку немає жодної літери чи цифри")]
    NameWithoutLetters,
    #[error("ім'я для пошуку задовге: не більше {MAX_NAME_WORDS} слів і {MAX_NAME_CHARS} символів")]
    NameTooLong,
    #[error("у номері документа немає жодної літери чи цифри")]
    NumberWithoutLetters,
    #[error("кількість результатів на сторінці — від 1 до {MAX_LIMIT}")]
    LimitOutOfRange,
    #[error("початок періоду пізніший за його кінець")]
    RangeReversed,
    #[error("дата поза межами, які можна шукати")]
    DayOutOfRange,
}

impl RuleViolation for QueryProblem {
    fn code(&self) -> &'static str {
        match self {
            Self::NameWithoutLetters => "search-name-empty",
            Self::NameTooLong => "search-name-too-long",
            Self::NumberWithoutLetters => "search-number-empty",
            Self::LimitOutOfRange => "search-limit-out-of-range",
            Self::RangeReversed => "search-range-reversed",
            Self::DayOutOfRange => "search-day-out-of-range",
        }
    }
    fn kind(&self) -> RuleKind {
        RuleKind::Invalid
    }
}

/// The copies `partner_id` received that match `query`, one page of them. The partner scope is
/// part of the SQL, the cursor's MAC binds it to this partner and this query.
pub async fn search(pool: &PgPool, cursor_key: &PurposeKey, partner_id: Uuid, query: &SearchQuery) -> Result<SearchPage, SearchError> {
    let plan = Plan::of(query)?;
    let filters = plan.digest();
    let after = query.cursor.as_deref().map(|c| cursor::open(cursor_key, c, partner_id, filters)).transpose()?;
    let mut tx = plan.begin(pool).await?;
    let rows: Vec<FoundRow> = plan.sql(partner_id, after.as_ref()).build_query_as().fetch_all(&mut *tx).await?;
    tx.commit().await?;
    let mut documents = rows.into_iter().map(|row| row.into_document(!plan.words.is_empty())).collect::<Result<Vec<_>, _>>()?;
    let more = documents.len() > plan.limit as usize;
    documents.truncate(plan.limit as usize);
    let next_cursor = match documents.last() {
        Some(last) if more => Some(cursor::seal(
            cursor_key,
            partner_id,
            filters,
            &CursorPosition {
                relevance: last.relevance.unwrap_or(0.0),
                received_at: last.received_at,
                share_request_id: last.share_request_id,
                copy_index: last.copy_index,
            },
        )),
        _ => None,
    };
    Ok(SearchPage { documents, next_cursor })
}

/// The server's own execution time of the first page's query, in milliseconds (`EXPLAIN
/// ANALYZE`, same SQL, same binds): the floor the benchmark compares `search` against.
pub async fn execution_ms(pool: &PgPool, partner_id: Uuid, query: &SearchQuery) -> Result<f64, SearchError> {
    let plan = Plan::of(query)?;
    let mut tx = plan.begin(pool).await?;
    let explained: serde_json::Value =
        plan.sql_after_prefix("EXPLAIN (ANALYZE, FORMAT JSON) ", partner_id, None).build_query_scalar().fetch_one(&mut *tx).await?;
    tx.commit().await?;
    Ok(explained[0]["Execution Time"].as_f64().unwrap_or(f64::NAN))
}

impl Plan {
    /// The transaction a plan's query runs in: `<%` reads its threshold from a setting, which
    /// LOCAL keeps to this transaction.
    async fn begin(&self, pool: &PgPool) -> Result<sqlx::Transaction<'static, Postgres>, sqlx::Error> {
        let mut tx = pool.begin().await?;
        if !self.words.is_empty() {
            sqlx::query("SELECT set_config('pg_trgm.word_similarity_threshold', $1, true)")
                .bind(WORD_SIMILARITY_THRESHOLD)
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }
}

/// A query checked and normalised: what the SQL and the cursor's digest are made of.
#[derive(Debug)]
struct Plan {
    words: Vec<WordForms>,
    document_type: Option<DocumentType>,
    number_key: Option<String>,
    rnokpp: Option<String>,
    branch_id: Option<Uuid>,
    service_id: Option<Uuid>,
    from: Option<DateTime<Utc>>,
    /// Exclusive.
    until: Option<DateTime<Utc>>,
    by_relevance: bool,
    limit: u32,
}

impl Plan {
    fn of(query: &SearchQuery) -> Result<Self, QueryProblem> {
        let name = query.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
        let words = match name {
            None => Vec::new(),
            Some(name) if name.chars().count() > MAX_NAME_CHARS => return Err(QueryProblem::NameTooLong),
            Some(name) => {
                let words = translit::word_forms(name);
                if words.is_empty() {
                    return Err(QueryProblem::NameWithoutLetters);
                }
                if words.len() > MAX_NAME_WORDS {
                    return Err(QueryProblem::NameTooLong);
                }
                words
            }
        };
        let number_key = match query.document_number.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
            None => None,
            Some(number) => {
                let key = translit::document_number_key(number);
                if key.is_empty() {
                    return Err(QueryProblem::NumberWithoutLetters);
                }
                Some(key)
            }
        };
        let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(QueryProblem::LimitOutOfRange);
        }
        let from = query.received_from.map(start_of).transpose()?;
        let until = query.received_to.map(end_of).transpose()?;
        if let (Some(from), Some(until)) = (from, until) {
            if from >= until {
                return Err(QueryProblem::RangeReversed);
            }
        }
        let by_relevance = !words.is_empty() && query.sort.unwrap_or(SearchSort::Relevance) == SearchSort::Relevance;
        Ok(Self {
            words,
            document_type: query.document_type,
            number_key,
            rnokpp: query.rnokpp.as_ref().map(|r| r.as_str().to_string()),
            branch_id: query.branch_id,
            service_id: query.service_id,
            from,
            until,
            by_relevance,
            limit,
        })
    }

    /// Everything that decides the results and their order, one field a line.
    fn digest(&self) -> FiltersDigest {
        let opt = |v: Option<String>| v.unwrap_or_default();
        // Both forms: "Ґонта" and "Гонта" fold alike but are transliterated apart.
        let words: Vec<String> = self.words.iter().map(|w| format!("{}/{}", w.written, w.latin)).collect();
        FiltersDigest::of(&format!(
            "search/v1\nwords={}\ntype={}\nnumber={}\nrnokpp={}\nbranch={}\nservice={}\nfrom={}\nuntil={}\nrelevance={}",
            words.join(" "),
            opt(self.document_type.map(|t| t.code().to_string())),
            opt(self.number_key.clone()),
            opt(self.rnokpp.clone()),
            opt(self.branch_id.map(|id| id.to_string())),
            opt(self.service_id.map(|id| id.to_string())),
            opt(self.from.map(|t| t.timestamp_micros().to_string())),
            opt(self.until.map(|t| t.timestamp_micros().to_string())),
            self.by_relevance,
        ))
    }

    /// The page's SQL: every value bound, never spliced in; `partner_id` always first.
    fn sql(&self, partner_id: Uuid, after: Option<&CursorPosition>) -> QueryBuilder<'_, Postgres> {
        self.sql_after_prefix("", partner_id, after)
    }

    /// The same SQL behind `prefix` (`EXPLAIN …` for the benchmark's baseline).
    fn sql_after_prefix(&self, prefix: &str, partner_id: Uuid, after: Option<&CursorPosition>) -> QueryBuilder<'_, Postgres> {
        let mut sql = QueryBuilder::new(prefix.to_string());
        sql.push(
            "SELECT * FROM (SELECT share_request_id, copy_index, document_type, holder_name, document_number, rnokpp, branch_id,
                    branch_name, service_id, service_names, received_at, delivery_state, ",
        );
        self.push_relevance(&mut sql);
        sql.push(" AS relevance FROM search_documents WHERE partner_id = ").push_bind(partner_id);
        if let Some(t) = self.document_type {
            sql.push(" AND document_type = ").push_bind(t.code());
        }
        if let Some(key) = &self.number_key {
            sql.push(" AND document_number_key = ").push_bind(key.as_str());
        }
        if let Some(rnokpp) = &self.rnokpp {
            sql.push(" AND rnokpp = ").push_bind(rnokpp.as_str());
        }
        if let Some(id) = self.branch_id {
            sql.push(" AND branch_id = ").push_bind(id);
        }
        if let Some(id) = self.service_id {
            sql.push(" AND service_id = ").push_bind(id);
        }
        if let Some(from) = self.from {
            sql.push(" AND received_at >= ").push_bind(from);
        }
        if let Some(until) = self.until {
            sql.push(" AND received_at < ").push_bind(until);
        }
        // Each word must be found: as a prefix of a word (full text), or near a word in either
        // form (trigrams). Each condition can use its index.
        for word in &self.words {
            sql.push(" AND (search_vector @@ to_tsquery('simple', ").push_bind(tsquery(word, ":*"));
            sql.push(") OR ").push_bind(word.written.as_str()).push(" <% search_text");
            if word.latin != word.written {
                sql.push(" OR ").push_bind(word.latin.as_str()).push(" <% search_text");
            }
            sql.push(")");
        }
        sql.push(") AS found");
        if let Some(after) = after {
            // After the cursor in the order below; the bound on `received_at` alone lets the
            // date order walk its index from the cursor on.
            sql.push(" WHERE ");
            if self.by_relevance {
                sql.push("(relevance < ").push_bind(after.relevance).push(" OR (relevance = ").push_bind(after.relevance).push(" AND ");
            } else {
                sql.push("received_at <= ").push_bind(after.received_at).push(" AND ");
            }
            sql.push("(received_at < ").push_bind(after.received_at);
            sql.push(" OR (received_at = ").push_bind(after.received_at);
            sql.push(" AND (share_request_id < ").push_bind(after.share_request_id);
            sql.push(" OR (share_request_id = ").push_bind(after.share_request_id).push(" AND copy_index > ").push_bind(after.copy_index);
            sql.push("))))");
            if self.by_relevance {
                sql.push("))");
            }
        }
        sql.push(" ORDER BY ");
        if self.by_relevance {
            sql.push("relevance DESC, ");
        }
        sql.push("received_at DESC, share_request_id DESC, copy_index LIMIT ").push_bind(i64::from(self.limit) + 1);
        sql
    }

    /// The mean over the query's words of its best similarity in either form, plus a bonus
    /// for an exact word; 0 without a name.
    fn push_relevance<'a>(&'a self, sql: &mut QueryBuilder<'a, Postgres>) {
        if self.words.is_empty() {
            sql.push("0::float8");
            return;
        }
        sql.push("((");
        for (i, word) in self.words.iter().enumerate() {
            if i > 0 {
                sql.push(" + ");
            }
            sql.push("greatest(word_similarity(").push_bind(word.written.as_str()).push(", search_text), word_similarity(");
            sql.push_bind(word.latin.as_str()).push(", search_text))::float8");
            sql.push(" + CASE WHEN search_vector @@ to_tsquery('simple', ").push_bind(tsquery(word, ""));
            sql.push(") THEN ").push_bind(EXACT_WORD_BONUS).push(" ELSE 0::float8 END");
        }
        sql.push(") / ").push_bind(self.words.len() as f64).push(")");
    }
}

/// A word's two forms as a `simple` tsquery, each with `suffix` (`:*` for a prefix). The forms
/// are letters and digits only (`translit::fold`), so nothing in them is tsquery syntax.
fn tsquery(word: &WordForms, suffix: &str) -> String {
    if word.latin == word.written || word.latin.is_empty() {
        format!("{}{suffix}", word.written)
    } else {
        format!("{}{suffix} | {}{suffix}", word.written, word.latin)
    }
}

/// Where a range's start falls: a day starts at midnight in Kyiv.
fn start_of(bound: TimeBound) -> Result<DateTime<Utc>, QueryProblem> {
    match bound {
        TimeBound::Instant(t) => Ok(t),
        TimeBound::Day(day) => kyiv_midnight(day),
    }
}

/// The first instant after a range's end: a day ends at the next midnight in Kyiv; an instant
/// is included (timestamps are stored to the microsecond).
fn end_of(bound: TimeBound) -> Result<DateTime<Utc>, QueryProblem> {
    match bound {
        TimeBound::Instant(t) => t.checked_add_signed(Duration::microseconds(1)).ok_or(QueryProblem::DayOutOfRange),
        TimeBound::Day(day) => kyiv_midnight(day.succ_opt().ok_or(QueryProblem::DayOutOfRange)?),
    }
}

/// Midnight exists on every Kyiv day (clocks change at 03:00 and 04:00), so `earliest` finds it.
fn kyiv_midnight(day: NaiveDate) -> Result<DateTime<Utc>, QueryProblem> {
    let midnight = day.and_hms_opt(0, 0, 0).ok_or(QueryProblem::DayOutOfRange)?;
    Kyiv.from_local_datetime(&midnight).earliest().map(|t| t.with_timezone(&Utc)).ok_or(QueryProblem::DayOutOfRange)
}

#[derive(sqlx::FromRow)]
struct FoundRow {
    share_request_id: Uuid,
    copy_index: i32,
    document_type: String,
    holder_name: String,
    document_number: Option<String>,
    rnokpp: Option<String>,
    branch_id: Uuid,
    branch_name: String,
    service_id: Uuid,
    service_names: Vec<String>,
    received_at: DateTime<Utc>,
    delivery_state: String,
    relevance: f64,
}

impl FoundRow {
    fn into_document(self, by_name: bool) -> Result<ReceivedDocument, sqlx::Error> {
        let stored = |column: &str, value: &str| sqlx::Error::ColumnDecode {
            index: column.to_string(),
            source: format!("search_documents.{column} holds «{value}», which this engine does not know").into(),
        };
        Ok(ReceivedDocument {
            document_type: DocumentType::from_code(&self.document_type).ok_or_else(|| stored("document_type", &self.document_type))?,
            delivery: DeliveryState::parse(&self.delivery_state).ok_or_else(|| stored("delivery_state", &self.delivery_state))?,
            share_request_id: self.share_request_id,
            copy_index: self.copy_index,
            holder_name: self.holder_name,
            document_number: self.document_number,
            rnokpp: self.rnokpp,
            branch_id: self.branch_id,
            branch_name: self.branch_name,
            service_id: self.service_id,
            service_names: self.service_names,
            received_at: self.received_at,
            relevance: by_name.then_some(self.relevance),
        })
    }
}

#[cfg(test)]
mod tests {
    use diia_qr_domain::demo::demo_citizens;

    use super::*;

    fn held(surname: &str, document_type: DocumentType) -> HeldDocument {
        let citizen = demo_citizens().into_iter().find(|c| c.full_name.contains(surname)).unwrap();
        citizen.documents.into_iter().find(|d| d.document_type == document_type).unwrap()
    }

    #[test]
    fn a_copy_is_indexed_by_the_kinds_of_its_fields() {
        let passport = IndexedCopy::of(&held("Їжакевич", DocumentType::InternalPassport));
        assert_eq!(passport.holder_name, "Їжакевич Мар'яна Ігорівна");
        assert_eq!(passport.search_text, "їжакевич маряна ігорівна yizhakevych mariana ihorivna");
        assert_eq!(passport.document_number.as_deref(), Some("004512377"));

        let abroad = IndexedCopy::of(&held("Їжакевич", DocumentType::ForeignPassport));
        assert_eq!(abroad.holder_name, "Їжакевич Мар'яна");
        assert!(abroad.search_text.contains("izhakevych") && abroad.search_text.contains("yizhakevych"), "{}", abroad.search_text);

        let tax = IndexedCopy::of(&held("Єрмоленко", DocumentType::TaxpayerCard));
        assert_eq!(tax.document_number, Some(demo_citizens()[3].rnokpp.as_str().to_string()));
        assert!(tax.search_text.starts_with("єрмоленко ольга віталіївна yermolenko olha vitaliivna"), "{}", tax.search_text);
    }

    #[test]
    fn a_birth_certificate_is_the_childs_and_found_by_its_parents_too() {
        let certificate = IndexedCopy::of(&held("Ґонта", DocumentType::BirthCertificate));
        assert_eq!(certificate.holder_name, "Ґонта Ярослава Євгенівна");
        assert_eq!(
            certificate.search_text,
            "гонта ярослава євгенівна євген олексійович іванна петрівна gonta yaroslava yevhenivna yevhen oleksiiovych ivanna petrivna"
        );
    }

    fn plan(query: SearchQuery) -> Result<Plan, QueryProblem> {
        Plan::of(&query)
    }

    #[test]
    fn queries_that_cannot_be_answered_are_refused_by_name() {
        let name = |n: &str| SearchQuery { name: Some(n.into()), ..SearchQuery::default() };
        assert_eq!(plan(name("’ - '")).unwrap_err(), QueryProblem::NameWithoutLetters);
        assert_eq!(plan(name("а б в г д е є")).unwrap_err(), QueryProblem::NameTooLong);
        assert_eq!(plan(name(&"я".repeat(201))).unwrap_err(), QueryProblem::NameTooLong);
        assert!(plan(name("   ")).unwrap().words.is_empty(), "a blank name is no filter");
        let number = SearchQuery { document_number: Some(" - ".into()), ..SearchQuery::default() };
        assert_eq!(plan(number).unwrap_err(), QueryProblem::NumberWithoutLetters);
        for limit in [0, MAX_LIMIT + 1] {
            assert_eq!(plan(SearchQuery { limit: Some(limit), ..SearchQuery::default() }).unwrap_err(), QueryProblem::LimitOutOfRange);
        }
        let day = |d: &str| Some(TimeBound::Day(d.parse().unwrap()));
        let reversed = SearchQuery { received_from: day("2026-03-02"), received_to: day("2026-03-01"), ..SearchQuery::default() };
        assert_eq!(plan(reversed).unwrap_err(), QueryProblem::RangeReversed);
    }

    #[test]
    fn a_day_is_a_kyiv_day_in_winter_and_summer() {
        let day = |d: &str| TimeBound::Day(d.parse().unwrap());
        assert_eq!(start_of(day("2026-01-15")).unwrap().to_rfc3339(), "2026-01-14T22:00:00+00:00");
        assert_eq!(end_of(day("2026-01-15")).unwrap().to_rfc3339(), "2026-01-15T22:00:00+00:00");
        assert_eq!(start_of(day("2026-07-01")).unwrap().to_rfc3339(), "2026-06-30T21:00:00+00:00");
        // The day the clocks go forward is 23 hours long.
        let (start, end) = (start_of(day("2026-03-29")).unwrap(), end_of(day("2026-03-29")).unwrap());
        assert_eq!(end - start, Duration::hours(23));
    }

    #[test]
    fn the_digest_changes_with_every_filter_and_not_with_the_spelling_or_the_page() {
        let digest = |q: SearchQuery| plan(q).unwrap().digest();
        let base = SearchQuery { name: Some("Мар'яна".into()), ..SearchQuery::default() };
        assert_eq!(digest(base.clone()), digest(SearchQuery { name: Some("МАРʼЯНА".into()), limit: Some(5), ..base.clone() }));
        let others = [
            SearchQuery { name: Some("Ольга".into()), ..base.clone() },
            SearchQuery { document_type: Some(DocumentType::InternalPassport), ..base.clone() },
            SearchQuery { document_number: Some("004512377".into()), ..base.clone() },
            SearchQuery { branch_id: Some(Uuid::from_u128(1)), ..base.clone() },
            SearchQuery { service_id: Some(Uuid::from_u128(1)), ..base.clone() },
            SearchQuery { received_from: Some(TimeBound::Day("2026-01-01".parse().unwrap())), ..base.clone() },
            SearchQuery { received_to: Some(TimeBound::Day("2026-01-01".parse().unwrap())), ..base.clone() },
            SearchQuery { sort: Some(SearchSort::Date), ..base.clone() },
        ];
        for other in others {
            assert_ne!(digest(base.clone()), digest(other.clone()), "{other:?}");
        }
    }
}
