//! Diia.QR's read side and side effects, one room per job:
//! - `log`: the commit-ordered reader of the event log and the follower that feeds projections;
//! - `views`: read models built from the log (the cabinet's, the search index of received copies);
//! - `reactors`: followers with side effects (the mail outbox) and the delivery worker;
//! - `documents`: pure rendering (PDF, copies, poster, QR);
//! - `seal`: signing and verifying CMS signatures; the service's seal and its pinned certificates;
//! - `pki`: the development PKI (root, qualified CA, citizens' CA, CRLs), qualified identities, revocation;
//! - `verification`: the verdict on a presented copy;
//! - `audit`: the tamper-evident trail's formats: RFC 9162 Merkle tree and proofs, signed checkpoints, canonical JSON;
//! - `personal_data`: share requests' personal fields sealed in the log under per-request keys (crypto-shredding);
//! - `history`: consent history replayed from the log, as of any moment;
//! - `audit_trail`: the trail stored: entries from the log and from accesses, checkpoints, export and its verification;
//! - `counters`: operational counts not derived from the log (refused scans);
//! - `keys` and `digest`: purpose keys derived from the service secret, hashes and MACs.

pub mod audit;
pub mod audit_trail;
pub mod counters;
pub mod digest;
pub mod documents;
pub mod history;
pub mod keys;
pub mod log;
pub mod personal_data;
pub mod pki;
pub mod reactors;
pub mod seal;
pub mod verification;
pub mod views;

/// The read models: built from the log alone, so `projections rebuild` may replay them.
pub fn views() -> Vec<std::sync::Arc<dyn log::Projection>> {
    vec![
        std::sync::Arc::new(views::cabinet::CabinetViews),
        std::sync::Arc::new(views::search::SearchIndex),
        std::sync::Arc::new(views::overview::ShareTimeline),
    ]
}

/// Every projection and reactor the engine runs, each on its own follower with its own
/// checkpoint: the views, then the mail outbox and the audit trail, whose effects are not
/// replayed.
pub fn projections(keys: &keys::KeyRing) -> Vec<std::sync::Arc<dyn log::Projection>> {
    let mut all = views();
    all.push(std::sync::Arc::new(reactors::outbox::MailOutbox));
    all.push(std::sync::Arc::new(audit_trail::AuditTrail::new(keys)));
    all
}

/// The names of [`projections`], in its order, for reports that need no keys.
pub fn projection_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = views().iter().map(|p| p.name()).collect();
    names.extend(["mail_outbox", "audit_trail"]);
    names
}

/// The migrations of the whole engine (event store, views, outbox), embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

#[cfg(test)]
mod tests {
    #[test]
    fn the_names_are_those_of_the_projections_the_engine_runs() {
        let keys = crate::keys::KeyRing::derive(&[7u8; 32], crate::keys::KeyGenerations::default()).unwrap();
        let running: Vec<&str> = crate::projections(&keys).iter().map(|p| p.name()).collect();
        assert_eq!(running, crate::projection_names());
    }
}
