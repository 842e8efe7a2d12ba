//! Diia.QR's domain: the aggregates Partner, Branch, Service and ShareRequest, their commands,
//! events, errors and every rule of the service. No IO lives here: anything from outside (the
//! state registries, photo verification, Diia.Signature, confirmation codes) enters through the
//! traits in each aggregate's `Services`.

pub mod branch;
pub mod demo;
pub mod documents;
pub mod identifiers;
pub mod moderation;
pub mod names;
pub mod partner;
pub mod service;
pub mod share_request;
pub mod text;

/// Every persisted event of this crate carries this version; bump it and add an upcaster when a
/// payload changes shape. Events are a contract: never rename a variant or a field.
pub const EVENT_VERSION: &str = "1.0";

/// What kind of refusal a rule violation is: the HTTP layer maps each kind to one status, so the
/// mapping is exhaustive by type and never guesses from a rule's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleKind {
    /// The thing named does not exist (or is not the caller's to see).
    NotFound,
    /// It existed but is no longer usable: expired, rotated, revoked, deactivated.
    Gone,
    /// The command contradicts the current state: already done, or finished.
    Conflict,
    /// Too many attempts: try later.
    RateLimited,
    /// The input or the moment breaks a rule; correct it and try again.
    Invalid,
    /// A service outside the engine (a registry, photo verification, Diia.Signature) did not answer.
    Unavailable,
}

/// A rule's stable, machine-readable name (used as the problem `type` suffix on the API), its
/// kind, and the Diia error code where the real service has one.
pub trait RuleViolation: std::error::Error {
    fn code(&self) -> &'static str;
    fn kind(&self) -> RuleKind;
    fn diia_code(&self) -> Option<u32> {
        None
    }
}

#[cfg(test)]
mod architecture {
    /// `domain` does no IO: no database, HTTP, mail, crypto library or filesystem crate may
    /// become its dependency. Adding one must fail here and be argued in ARCHITECTURE.md.
    #[test]
    fn the_domain_depends_on_no_io_crate() {
        const ALLOWED: &[&str] = &[
            "cqrs-es",
            "async-trait",
            "serde",
            "serde_json",
            "thiserror",
            "chrono",
            "uuid",
            "base64",
            "unicode-normalization",
            "unicode-properties",
            "unicode-security",
        ];
        let manifest = include_str!("../Cargo.toml");
        let deps = manifest.split("[dependencies]").nth(1).expect("a [dependencies] table");
        let deps = deps.split("\n[").next().unwrap_or(deps);
        for line in deps.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let name = line.split(['=', '.']).next().unwrap_or(line).trim();
            assert!(ALLOWED.contains(&name), "`{name}` is not an allowed dependency of the pure domain");
        }
    }
}
