//! Diia.QR's read side and side effects: the log follower with durable checkpoints, the cabinet
//! views, and the reactors that render, sign and mail copies.

pub mod cabinet;
pub mod codes;
pub mod copies;
pub mod delivery;
pub mod event_log;
pub mod follower;
pub mod mailer;
pub mod outbox;
pub mod pdf;
pub mod poster;
pub mod qr;
pub mod seal;
pub mod verification;

/// The migrations of the whole engine (event store, views, outbox), embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");
