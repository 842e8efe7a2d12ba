//! The application layer: one method per use case, split by who calls it — `partner`, `citizen`,
//! `operator` (and the system's own sweeps), `sign_in`, `verification`. It loads the aggregates a
//! rule needs, hands their facts to the command, and executes it through cqrs-es on the
//! PostgreSQL event store; queries read the views. HTTP, the CLI and the demo all go through
//! here, and nothing else touches the database pool.

pub mod audit;
pub mod cabinet;
mod citizen;
pub mod clock;
pub mod copies;
mod delivery_outcomes;
pub mod dev_mail;
pub mod dev_services;
pub mod diia_signature;
pub(crate) mod error;
pub mod identity;
pub mod liveness;
pub mod moderation;
pub mod offer;
mod operator;
mod partner;
pub mod qr_tokens;
pub mod request_context;
mod search;
pub mod sessions;
pub mod sign_in;
mod store;
mod verification;

use std::sync::Arc;

use chrono::Duration;
use diia_qr_domain::branch::{Branch, BranchServices, EmailConfirmationCodes};
use diia_qr_domain::partner::Partner;
use diia_qr_domain::service::Service;
use diia_qr_domain::share_request::{DocumentRegistry, ShareRequest, ShareRequestServices};
use diia_qr_projections::keys::{KeyPurpose, KeyRing, PurposeKey};
use diia_qr_projections::log::wakeups::Wakeups;
use sqlx::PgPool;

pub use citizen::ShareHistoryEntry;
pub use clock::Clock;
pub use delivery_outcomes::ShareDeliveryOutcomes;
pub use error::EngineError;
pub use identity::PartnerIdentity;
pub use operator::{Health, HealthStatus, ProjectionHealth, ProjectionState};
pub use partner::{CurrentQr, NewService, Rendered};
pub use qr_tokens::QrLink;
use qr_tokens::QrTokens;
use sessions::Sessions;
pub use sign_in::DevPartnerSignIn;
use store::Store;

#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Base of the links printed in QR codes, e.g. `https://qr.example.ua`.
    pub public_base_url: String,
    /// How long a scanned request stays open.
    pub share_ttl: Duration,
    /// The development sign-ins answer (they trust the submitted identity): tests and the
    /// embedded development default only.
    pub dev_sign_in: bool,
    /// Mailbox confirmation letters a partner may cause a Kyiv day (creations and changes).
    pub partner_letters_per_day: i32,
    /// Where mail goes when it goes to a folder: the simulator shows a delivered letter from it
    /// (development sign-ins only).
    pub dev_mail_folder: Option<std::path::PathBuf>,
    /// Where the development PKI's test КЕП files are, when sign-ins trust it: the cabinet's
    /// sign-in page points a newcomer at them.
    pub dev_pki_dir: Option<std::path::PathBuf>,
}

/// What the engine is built from: the database, the keys, the outside services and the clock.
pub struct EngineParts {
    pub pool: PgPool,
    pub keys: KeyRing,
    pub mailbox_codes: Arc<dyn EmailConfirmationCodes>,
    pub citizen_services: ShareRequestServices,
    /// The trust anchors that verify the copies' seal, as PEM.
    pub ca_pem: String,
    pub clock: Clock,
    pub settings: EngineSettings,
    pub audit: audit::AuditDesk,
    /// The seal that signs copies (a download seals its copy again, as the mail did).
    pub seal: Arc<dyn diia_qr_projections::seal::Seal>,
    /// The seal's certificates, current and retired: the only signers of a genuine copy.
    pub seal_certificates: diia_qr_projections::seal::SealCertificates,
    /// The qualified CAs partners' КЕП may come from, and their CRLs.
    pub kep: sign_in::KepTrust,
    /// Where appends are announced, for the followers of this and the other instances.
    pub wakeups: Arc<Wakeups>,
}

pub struct Engine {
    pool: PgPool,
    partners: Store<Partner>,
    branches: Store<Branch>,
    services: Store<Service>,
    shares: Store<ShareRequest>,
    registry: Arc<dyn DocumentRegistry>,
    qr_tokens: QrTokens,
    sessions: Sessions,
    /// Signs the search's page cursors.
    search_cursors: PurposeKey,
    ca_pem: String,
    /// What verification trusts: the anchors and the pinned seal certificates.
    seal_trust: diia_qr_projections::verification::SealTrust,
    seal_certificates_pem: String,
    kep: Arc<sign_in::KepTrust>,
    clock: Clock,
    settings: EngineSettings,
    audit: audit::AuditDesk,
    seal: Arc<dyn diia_qr_projections::seal::Seal>,
    dev_liveness: liveness::DevLivenessProvider,
}

impl Engine {
    pub fn new(parts: EngineParts) -> Result<Self, openssl::error::ErrorStack> {
        let EngineParts {
            pool,
            keys,
            mailbox_codes,
            citizen_services,
            ca_pem,
            clock,
            settings,
            audit,
            seal,
            seal_certificates,
            kep,
            wakeups,
        } = parts;
        Ok(Self {
            partners: Store::new(&pool, &wakeups, ()),
            branches: Store::new(&pool, &wakeups, BranchServices { codes: mailbox_codes }),
            services: Store::new(&pool, &wakeups, ()),
            registry: citizen_services.registry.clone(),
            shares: Store::new(&pool, &wakeups, citizen_services),
            qr_tokens: QrTokens::new(&keys, &settings.public_base_url),
            sessions: Sessions::new(&keys, clock.clone()),
            search_cursors: keys.key(KeyPurpose::SearchCursors).clone(),
            dev_liveness: liveness::DevLivenessProvider::new(&keys)?,
            seal_certificates_pem: seal_certificates.to_pem()?,
            seal_trust: diia_qr_projections::verification::SealTrust {
                anchors: openssl::x509::X509::stack_from_pem(ca_pem.as_bytes())?,
                seals: seal_certificates,
                revocation: Some(kep.revocation.clone()),
            },
            kep: Arc::new(kep),
            ca_pem,
            pool,
            clock,
            settings,
            audit,
            seal,
        })
    }

    /// Checkpoints, proofs and exports of the audit trail.
    pub fn audit(&self) -> &audit::AuditDesk {
        &self.audit
    }

    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    /// Closes the database pool: the last step of a shutdown.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
