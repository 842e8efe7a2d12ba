//! The aggregates a scan reads, kept in memory by version.
//!
//! An entry is never trusted as current: every load asks the log for the events after the
//! version held (`Store::load`), so a partner suspended or a QR revoked by another instance is
//! seen by the next scan, exactly as without the cache. What it saves is replaying the whole
//! history and the round trip that finds which service's branch and partner to read.

use std::collections::HashMap;
use std::sync::Mutex;

use cqrs_es::persist::SerializedEvent;
use cqrs_es::Aggregate;

use crate::app::EngineError;

/// At most this many aggregates of one type are held; past it the map starts again empty, which
/// costs one full load each and bounds the memory under any flood of distinct ids.
const CAPACITY: usize = 20_000;

pub(super) struct AggregateCache<A> {
    entries: Mutex<HashMap<String, (A, usize)>>,
}

impl<A> Default for AggregateCache<A> {
    fn default() -> Self {
        Self { entries: Mutex::default() }
    }
}

/// `aggregate` at version `sequence` after applying those of `events` that come later.
pub(super) fn replay<A: Aggregate>(mut aggregate: A, mut sequence: usize, events: Vec<SerializedEvent>) -> Result<(A, usize), EngineError> {
    for event in events {
        if event.sequence <= sequence {
            continue;
        }
        sequence = event.sequence;
        let event: A::Event =
            serde_json::from_value(event.payload).map_err(|e| EngineError::Internal(format!("an event of the log does not read: {e}")))?;
        aggregate.apply(event);
    }
    Ok((aggregate, sequence))
}

impl<A: Aggregate + Clone> AggregateCache<A> {
    pub(super) fn get(&self, id: &str) -> Option<(A, usize)> {
        self.entries.lock().expect("the aggregate cache").get(id).cloned()
    }

    pub(super) fn sequence(&self, id: &str) -> Option<usize> {
        self.entries.lock().expect("the aggregate cache").get(id).map(|(_, s)| *s)
    }

    /// The version held, brought forward by `events` (the log's events after `after`), and its
    /// sequence. `None` when the version held is older than `after` (evicted meanwhile): the
    /// caller loads in full.
    pub(super) fn advance(&self, id: &str, after: usize, events: Vec<SerializedEvent>) -> Result<Option<(A, usize)>, EngineError> {
        let (base, held) = self.entries.lock().expect("the aggregate cache").get(id).cloned().unwrap_or_default();
        if held < after {
            return Ok(None);
        }
        let (aggregate, sequence) = replay(base, held, events)?;
        // A never-written id (a guessed service) is not kept.
        if sequence > 0 {
            let mut entries = self.entries.lock().expect("the aggregate cache");
            if entries.len() >= CAPACITY && !entries.contains_key(id) {
                entries.clear();
            }
            // Another task may have stored a later version meanwhile: the later one stays.
            if entries.get(id).is_none_or(|(_, s)| *s < sequence) {
                entries.insert(id.to_string(), (aggregate.clone(), sequence));
            }
        }
        Ok(Some((aggregate, sequence)))
    }
}
