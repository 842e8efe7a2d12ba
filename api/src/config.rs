//! Configuration: embedded defaults, overridden by command-line flags or environment variables.

use std::path::PathBuf;

pub use diia_qr_projections::keys::KeyGenerations;
pub use diia_qr_projections::seal::SealKeySource;

pub use crate::app::Clock;
pub use crate::http::edge::EdgeLimits;

/// Where copies and confirmation codes are mailed.
#[derive(Debug, Clone)]
pub enum MailConfig {
    /// Each message as an `.eml` file in a folder.
    Folder(PathBuf),
    /// An SMTP server, by a lettre connection URL (`smtp://host:25`, `smtp://host:587?tls=required`, `smtps://…`).
    Smtp(String),
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Interface to listen on; loopback by default.
    pub host: String,
    /// `0` picks a free port.
    pub port: u16,
    /// Use this PostgreSQL server; without it, a private cluster is started in `data_dir/postgres`.
    pub database_url: Option<String>,
    /// Keys, the embedded cluster and (by default) the mail folder live here.
    pub data_dir: PathBuf,
    /// Base of the links in QR codes; defaults to the address the server listens on.
    pub public_base_url: Option<String>,
    pub mail: MailConfig,
    pub mail_from: String,
    pub share_ttl_seconds: i64,
    /// First retry delay of a failed delivery, doubled each time (with jitter).
    pub delivery_first_retry_ms: u64,
    pub delivery_max_attempts: u32,
    /// Deliveries in flight at once in this process.
    pub delivery_workers: usize,
    /// SMTP timeout for one exchange.
    pub smtp_timeout_secs: u64,
    /// How long a delivery job stays leased to one worker. A worker that dies mid-delivery
    /// leaves the job to others after this; it must exceed a whole SMTP exchange.
    pub delivery_lease_secs: u64,
    /// The seal's key and certificates; `None` uses the development seal made in `data_dir/pki`.
    pub seal: Option<SealKeySource>,
    /// Seal certificates the service used before the current one (PEM): copies they sealed stay
    /// genuine. The development seal's retired certificates are found in `data_dir/pki` anyway.
    pub retired_seal_certificates: Option<PathBuf>,
    /// The CA certificates (PEM bundle) whose КЕП may sign partners in: qualified trust service
    /// providers' CAs. `None`: the development PKI's qualified CA.
    pub kep_trust_anchors: Option<PathBuf>,
    /// Their certificate revocation lists (PEM or DER), re-read when a file changes. Empty with
    /// `kep_trust_anchors` unset: the development PKI's CRL.
    pub kep_crls: Vec<PathBuf>,
    /// The РНОКПП of the service's operators, whose КЕП signs them in to the operators' desk.
    /// With `kep_trust_anchors` unset, the development PKI's test operator is added.
    pub operators: Vec<String>,
    /// The development sign-ins answer (they trust the submitted identity).
    pub dev_sign_in: bool,
    /// Generated citizens added to the development registry for load runs (with `dev_sign_in`).
    pub dev_population: usize,
    /// The bearer token `/metrics` asks of a scraper; `None` keeps it closed.
    pub metrics_token: Option<String>,
    /// The generation of each purpose's key derived from the service secret; raise one to
    /// rotate that key alone.
    pub key_generations: KeyGenerations,
    /// The system clock, or a shiftable one in tests.
    pub clock: Clock,
    /// Mailbox confirmation letters a partner may cause a Kyiv day: enough to open a chain's
    /// branches over a few days, too few to make the service a mail relay.
    pub partner_letters_per_day: i32,
    /// Timeouts, connection and request limits, per-client rate limits of the HTTP edge.
    pub edge: EdgeLimits,
}

impl Config {
    /// The embedded defaults: everything under `data_dir`, mail to `data_dir/outbox`.
    pub fn with_data_dir(data_dir: PathBuf) -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8080,
            database_url: None,
            mail: MailConfig::Folder(data_dir.join("outbox")),
            data_dir,
            public_base_url: None,
            mail_from: "Дія.QR <noreply@diia-qr.localhost>".into(),
            share_ttl_seconds: 15 * 60,
            delivery_first_retry_ms: 2_000,
            delivery_max_attempts: 1_200,
            delivery_workers: 4,
            smtp_timeout_secs: 20,
            delivery_lease_secs: 90,
            seal: None,
            retired_seal_certificates: None,
            kep_trust_anchors: None,
            kep_crls: Vec::new(),
            operators: Vec::new(),
            dev_sign_in: false,
            dev_population: 0,
            metrics_token: None,
            key_generations: KeyGenerations::default(),
            clock: Clock::system(),
            partner_letters_per_day: 50,
            edge: EdgeLimits::default(),
        }
    }
}
