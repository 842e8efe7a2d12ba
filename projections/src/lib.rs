//! Diia.QR's read side and side effects, one room per job:
//! - `log`: the commit-ordered reader of the event log and the follower that feeds projections;
//! - `views`: read models built from the log (the cabinet's now; search and audit next);
//! - `reactors`: followers with side effects (the mail outbox) and the delivery worker;
//! - `documents`: pure rendering (PDF, copies, poster, QR);
//! - `seal`: signing and verifying CMS signatures, apart from the development PKI;
//! - `verification`: the verdict on a presented copy;
//! - `audit`: the tamper-evident trail's formats: RFC 9162 Merkle tree and proofs, signed checkpoints, canonical JSON;
//! - `counters`: operational counts not derived from the log (refused scans);
//! - `keys` and `digest`: purpose keys derived from the service secret, hashes and MACs.

pub mod audit;
pub mod counters;
pub mod digest;
pub mod documents;
pub mod keys;
pub mod log;
pub mod reactors;
pub mod seal;
pub mod verification;
pub mod views;

/// Every projection and reactor the engine runs, each on its own follower with its own
/// checkpoint: the list `serve` starts and `projections status` reports.
pub fn projections() -> Vec<std::sync::Arc<dyn log::Projection>> {
    vec![std::sync::Arc::new(views::cabinet::CabinetViews), std::sync::Arc::new(reactors::outbox::MailOutbox)]
}

/// The migrations of the whole engine (event store, views, outbox), embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");
