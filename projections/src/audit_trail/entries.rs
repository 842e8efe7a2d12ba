//! What an audit entry says about an event: the facts an auditor needs, and personal values only
//! as commitments (HMAC-SHA-256 under the scope's salt), never in clear nor as a bare hash.

use chrono::{DateTime, SecondsFormat, Utc};
use diia_qr_domain::branch::BranchEvent;
use diia_qr_domain::partner::{PartnerEvent, PartnerKind};
use diia_qr_domain::service::ServiceEvent;
use diia_qr_domain::share_request::ShareRequestEvent;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::digest::{hmac_sha256, sha256_hex};
use crate::log::StoredEvent;

/// The format of every entry body; bumped only with a new `v`.
pub const ENTRY_VERSION: u64 = 1;

/// A commitment to `value` as field `field`, under a scope's salt: reveals nothing without the
/// salt, and the salt's owner can open it (the export's evidence does, while the salt exists).
pub fn commit(salt: &[u8], field: &str, value: &str) -> String {
    use base64::Engine as _;
    let mut data = Vec::with_capacity(field.len() + 1 + value.len());
    data.extend_from_slice(field.as_bytes());
    data.push(0);
    data.extend_from_slice(value.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(hmac_sha256(salt, &data))
}

/// The scope whose salt commits a share request's personal values; erased with its data.
pub fn share_scope(share_request_id: Uuid) -> String {
    format!("share:{share_request_id}")
}

/// The scope of a partner's own personal values (its head, a sole proprietor's code).
pub fn partner_scope(partner_id: Uuid) -> String {
    format!("partner:{partner_id}")
}

pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// An entry body under construction: the common fields, then facts.
pub struct EntryBody {
    body: Map<String, Value>,
    facts: Map<String, Value>,
    salt: Vec<u8>,
}

impl EntryBody {
    pub fn new(kind: &str, at: DateTime<Utc>, partner_id: Option<Uuid>, salt: Vec<u8>) -> Self {
        let mut body = Map::new();
        body.insert("v".into(), json!(ENTRY_VERSION));
        body.insert("kind".into(), json!(kind));
        body.insert("at".into(), json!(timestamp(at)));
        body.insert("partner_id".into(), partner_id.map_or(Value::Null, |p| json!(p.to_string())));
        Self { body, facts: Map::new(), salt }
    }

    pub fn set(&mut self, key: &str, value: Value) -> &mut Self {
        self.body.insert(key.into(), value);
        self
    }

    pub fn fact(&mut self, key: &str, value: Value) -> &mut Self {
        self.facts.insert(key.into(), value);
        self
    }

    /// A personal value, as a commitment under this entry's scope.
    pub fn committed(&mut self, key: &str, value: &str) -> &mut Self {
        let commitment = commit(&self.salt, key, value);
        self.facts.insert(key.into(), json!(commitment));
        self
    }

    pub fn finish(mut self) -> Value {
        self.body.insert("facts".into(), Value::Object(self.facts));
        Value::Object(self.body)
    }
}

/// Who issued the command, from the event's metadata: a citizen's or a partner head's id is
/// committed (events written before pseudonymous actors name them by РНОКПП); operators,
/// mailboxes and the system are named, since they answer for their acts.
pub fn actor_of(event: &StoredEvent, salt: &[u8]) -> Value {
    let actor = event.metadata.get("actor").and_then(Value::as_str).unwrap_or("unknown");
    let (role, id) = actor.split_once(':').unwrap_or((actor, ""));
    match role {
        "citizen" | "partner-head" => json!({"role": role, "id": commit(salt, "actor", id)}),
        _ => json!({"role": role, "id": id}),
    }
}

/// The facts of an event, decoded by type; personal values committed. Unknown events (a newer
/// writer's) are recorded by type alone rather than skipped.
pub fn describe(event: &StoredEvent, body: &mut EntryBody) {
    match event.aggregate_type.as_str() {
        "ShareRequest" => match event.decode::<ShareRequestEvent>() {
            Ok(ShareRequestEvent::Opened { citizen, snapshot, expires_at, .. }) => {
                body.committed("citizen", citizen.as_str())
                    .fact("branch_id", json!(snapshot.branch_id.to_string()))
                    .fact("service_id", json!(snapshot.service_id.to_string()))
                    .fact("documents", json!(snapshot.documents.iter().map(|d| d.code()).collect::<Vec<_>>()))
                    .fact("qr_version", json!(snapshot.qr_version))
                    .fact("expires_at", json!(timestamp(expires_at)));
            }
            Ok(ShareRequestEvent::DocumentsChosen { choices }) => {
                body.fact("documents", json!(choices.iter().map(|c| c.document_type.code()).collect::<Vec<_>>()));
            }
            Ok(ShareRequestEvent::PhotoVerified { at, assertion_id }) => {
                body.fact("verified_at", json!(timestamp(at)));
                if let Some(id) = assertion_id {
                    body.fact("liveness_assertion_id", json!(id));
                }
            }
            Ok(ShareRequestEvent::ConsentSigned { statement, signed_at, .. }) => {
                body.fact("statement_sha256", json!(sha256_hex(statement.as_bytes()))).fact("signed_at", json!(timestamp(signed_at)));
            }
            Ok(ShareRequestEvent::Sent { copies, recipient_email, sent_at, .. }) => {
                body.fact("documents", json!(copies.iter().map(|c| c.document_type.code()).collect::<Vec<_>>()))
                    .committed("recipient_email", recipient_email.as_str())
                    .fact("sent_at", json!(timestamp(sent_at)));
            }
            Ok(ShareRequestEvent::Delivered { accepted_at, message_id }) => {
                body.fact("accepted_at", json!(timestamp(accepted_at))).fact("message_id", json!(message_id));
            }
            Ok(ShareRequestEvent::DeliveryFailed { at, reason }) => {
                // The server's reply may quote the address: kept as a digest.
                body.fact("failed_at", json!(timestamp(at))).fact("reason_sha256", json!(sha256_hex(reason.as_bytes())));
            }
            Ok(ShareRequestEvent::Declined { at }) => {
                body.fact("declined_at", json!(timestamp(at)));
            }
            Ok(ShareRequestEvent::Expired { at }) => {
                body.fact("expired_at", json!(timestamp(at)));
            }
            Ok(ShareRequestEvent::PersonalDataErased { at, reason }) => {
                body.fact("erased_at", json!(timestamp(at))).fact("reason", serde_json::to_value(reason).unwrap_or_default());
            }
            Err(_) => undecodable(body),
        },
        "Partner" => match event.decode::<PartnerEvent>() {
            Ok(PartnerEvent::Registered { kind, organisation_name, head }) => {
                body.committed("head", head.rnokpp.as_str());
                match kind {
                    // A legal entity's code and name are public registry facts; a sole
                    // proprietor's are a person's.
                    PartnerKind::LegalEntity { edrpou } => {
                        body.fact("kind", json!("legal_entity"))
                            .fact("edrpou", json!(edrpou.as_str()))
                            .fact("organisation_name", json!(organisation_name));
                    }
                    PartnerKind::SoleProprietor { rnokpp } => {
                        body.fact("kind", json!("sole_proprietor"))
                            .committed("rnokpp", rnokpp.as_str())
                            .committed("organisation_name", &organisation_name);
                    }
                }
            }
            Ok(PartnerEvent::ProfileFilled { .. }) => {}
            Ok(PartnerEvent::OfferAccepted { offer }) => {
                body.fact("offer_version", json!(offer.version)).fact("offer_sha256", json!(offer.sha256));
            }
            Ok(PartnerEvent::AccessionApplicationSigned { signer, application_sha256, evidence }) => {
                body.committed("signer", signer.as_str()).fact("application_sha256", json!(application_sha256));
                if let Some(evidence) = evidence {
                    use base64::prelude::{Engine as _, BASE64_STANDARD};
                    let der = BASE64_STANDARD.decode(&evidence.signature_base64).unwrap_or_default();
                    body.fact("signature_sha256", json!(crate::digest::sha256_hex(&der)));
                }
            }
            Ok(PartnerEvent::Suspended { reason }) => {
                body.fact("reason", json!(reason));
            }
            Ok(PartnerEvent::Reinstated) => {}
            Err(_) => undecodable(body),
        },
        "Branch" => match event.decode::<BranchEvent>() {
            Ok(BranchEvent::Created { branch_id, name, address, .. }) => {
                body.fact("branch_id", json!(branch_id.to_string()))
                    .fact("name", json!(name.as_str()))
                    .fact("address", json!(address.one_line()));
            }
            Ok(BranchEvent::EmailConfirmationRequested { email, .. }) => {
                body.committed("email", email.as_str());
            }
            Ok(BranchEvent::EmailConfirmed { email }) => {
                body.committed("email", email.as_str());
            }
            Ok(BranchEvent::EmailConfirmationCodeRejected { attempts_left }) => {
                body.fact("attempts_left", json!(attempts_left));
            }
            Ok(BranchEvent::EmailConfirmationCodeVoided) => {}
            Ok(BranchEvent::Renamed { name, revision }) => {
                body.fact("name", json!(name.as_str())).fact("revision", json!(revision));
            }
            Ok(BranchEvent::NameApproved { revision }) => {
                body.fact("revision", json!(revision));
            }
            Ok(BranchEvent::RemovedByModeration { revision, name, reason, notified }) => {
                body.fact("revision", json!(revision)).fact("name", json!(name.as_str())).fact("reason", json!(reason));
                if let Some(email) = notified {
                    body.committed("notified", email.as_str());
                }
            }
            Err(_) => undecodable(body),
        },
        "Service" => match event.decode::<ServiceEvent>() {
            Ok(ServiceEvent::Created { service_id, branch_id, names, documents, retention_days, .. }) => {
                body.fact("service_id", json!(service_id.to_string()))
                    .fact("branch_id", json!(branch_id.to_string()))
                    .fact("names", json!(names.iter().map(|n| n.as_str()).collect::<Vec<_>>()))
                    .fact("documents", json!(documents.iter().map(|d| d.code()).collect::<Vec<_>>()))
                    .fact("retention_days", json!(retention_days));
            }
            Ok(ServiceEvent::QrIssued { qr_version, .. }) | Ok(ServiceEvent::QrRevoked { qr_version }) => {
                body.fact("qr_version", json!(qr_version));
            }
            Ok(ServiceEvent::Deactivated) => {}
            Ok(ServiceEvent::Renamed { names, revision }) => {
                body.fact("names", json!(names.iter().map(|n| n.as_str()).collect::<Vec<_>>())).fact("revision", json!(revision));
            }
            Ok(ServiceEvent::NamesApproved { revision }) => {
                body.fact("revision", json!(revision));
            }
            Ok(ServiceEvent::RemovedByModeration { revision, names, reason, notified }) => {
                body.fact("revision", json!(revision))
                    .fact("names", json!(names.iter().map(|n| n.as_str()).collect::<Vec<_>>()))
                    .fact("reason", json!(reason));
                if let Some(email) = notified {
                    body.committed("notified", email.as_str());
                }
            }
            Err(_) => undecodable(body),
        },
        _ => {}
    }
}

/// An event today's code cannot decode is still recorded, by type and place, and flagged.
fn undecodable(body: &mut EntryBody) {
    body.fact("undecodable", json!(true));
}

/// The event an entry records: where to find it in the log.
pub fn source_of(event: &StoredEvent) -> Value {
    json!({
        "aggregate_type": event.aggregate_type,
        "aggregate_id": event.aggregate_id,
        "sequence": event.sequence,
        "global_id": event.position.global_id,
    })
}
