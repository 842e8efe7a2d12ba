//! Diia.QR's domain: the aggregates Partner, Branch, Service and ShareRequest, their commands,
//! events, errors and every rule of the service. No IO lives here: anything from outside (the
//! state registries, photo verification, Diia.Signature, confirmation codes) enters through the
//! traits in each aggregate's `Services`.

pub mod branch;
pub mod documents;
pub mod identifiers;
pub mod names;
pub mod partner;
pub mod service;
pub mod share_request;

/// Every persisted event of this crate carries this version; bump it and add an upcaster when a
/// payload changes shape. Events are a contract: never rename a variant or a field.
pub const EVENT_VERSION: &str = "1.0";

/// A rule's stable, machine-readable name (used as the problem `type` suffix on the API) and the
/// Diia error code where the real service has one.
pub trait RuleViolation: std::error::Error {
    fn code(&self) -> &'static str;
    fn diia_code(&self) -> Option<u32> {
        None
    }
}
