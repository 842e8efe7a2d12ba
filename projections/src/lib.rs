//! Diia.QR's read side and side effects, one room per job:
//! - `log`: the commit-ordered reader of the event log and the follower that feeds projections;
//! - `views`: read models built from the log (the cabinet's now; search and audit next);
//! - `reactors`: followers with side effects (the mail outbox) and the delivery worker;
//! - `documents`: pure rendering (PDF, copies, poster, QR);
//! - `seal`: signing and verifying CMS signatures, apart from the development PKI;
//! - `verification`: the verdict on a presented copy;
//! - `counters`: operational counts not derived from the log (refused scans);
//! - `keys` and `digest`: purpose keys derived from the service secret, hashes and MACs.

pub mod counters;
pub mod digest;
pub mod documents;
pub mod keys;
pub mod log;
pub mod reactors;
pub mod seal;
pub mod verification;
pub mod views;

/// The migrations of the whole engine (event store, views, outbox), embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");
