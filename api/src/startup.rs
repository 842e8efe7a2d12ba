//! Builds and runs the whole engine: database (given or embedded), migrations, keys, the command
//! side, the log followers, the delivery worker, the expiry sweeper and the HTTP server.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use diia_qr_domain::identifiers::Rnokpp;
use diia_qr_domain::share_request::ShareRequestServices;
use diia_qr_projections::documents::pdf::PdfBuilder;
use diia_qr_projections::keys::{KeyRing, MailboxConfirmationCodes};
use diia_qr_projections::log::spawn_follower;
use diia_qr_projections::log::wakeups::Wakeups;
use diia_qr_projections::pki::revocation::RevocationLists;
use diia_qr_projections::pki::DevPki;

use crate::app::sign_in::KepTrust;
use diia_qr_projections::reactors::delivery::{DeliveryCounts, DeliverySettings, DeliveryWorker};
use diia_qr_projections::reactors::mailer::{MailError, MailTransport};
use diia_qr_projections::seal::{load_seal, Seal, SealCertificates, SealError, Signer};
use diia_qr_projections::MIGRATOR;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::audit::{default_origin, AuditDesk};
use crate::app::dev_services::{demo_citizens, DemoRegistry};
use crate::app::diia_signature::HeldDiiaSignature;
use crate::app::liveness::{DevLivenessProvider, LivenessVerifier};
use crate::app::{Clock, Engine, EngineError, EngineParts, EngineSettings, ShareDeliveryOutcomes};
use crate::config::{Config, MailConfig};
use crate::embedded_pg::{EmbeddedPgError, EmbeddedPostgres};
use crate::http::edge::{serve, Edge};
use crate::http::{router, AppState};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    // Causes are not repeated in the messages: the binary prints the whole chain.
    #[error("вбудований PostgreSQL")]
    EmbeddedPostgres(#[from] EmbeddedPgError),
    #[error("база даних")]
    Database(#[from] sqlx::Error),
    #[error("міграції бази даних")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("ключі печатки")]
    Seal(#[from] SealError),
    #[error("інфраструктура ключів (PKI)")]
    Pki(#[from] diia_qr_projections::pki::PkiError),
    #[error("пошта")]
    Mail(#[from] MailError),
    #[error("{path}")]
    File { path: PathBuf, source: std::io::Error },
    #[error("не вдалося відкрити порт {addr}")]
    Bind { addr: String, source: std::io::Error },
    #[error("налаштування: {0}")]
    Config(String),
}

pub struct Application {
    pub addr: SocketAddr,
    pub engine: Arc<Engine>,
    /// PEM of the certificates that verify the copies' seal.
    pub ca_pem: String,
    pub config: Config,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    server: JoinHandle<Result<(), std::io::Error>>,
    embedded: Option<EmbeddedPostgres>,
}

/// A 32-byte secret kept in a file readable by its owner only, made on first start.
fn load_or_create_secret(path: &Path) -> Result<Vec<u8>, StartupError> {
    let file_err = |source| StartupError::File { path: path.to_path_buf(), source };
    match std::fs::read(path) {
        Ok(bytes) if bytes.len() >= 32 => Ok(bytes),
        Ok(_) => Err(StartupError::Config(format!("{} is shorter than 32 bytes", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut secret = vec![0u8; 32];
            openssl::rand::rand_bytes(&mut secret).map_err(|e| StartupError::Config(e.to_string()))?;
            let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(file_err)?;
            f.write_all(&secret).map_err(file_err)?;
            Ok(secret)
        }
        Err(e) => Err(file_err(e)),
    }
}

/// The keys and the seal in the data folder: what the server and the command line both sign with.
pub struct ServiceKeys {
    pub keys: KeyRing,
    /// The development PKI (it issues the citizens' development Diia.Signature keys).
    pub pki: Arc<DevPki>,
    pub seal: Arc<dyn Seal>,
    /// PEM of the certificates that verify the seal's signatures.
    pub ca_pem: String,
    /// The seal's certificates, current and retired: what verification pins.
    pub seal_certificates: SealCertificates,
    /// What a КЕП sign-in trusts.
    pub kep: KepTrust,
}

/// The data folder holds the service secret, keys and (by default) the mail: 0700. When the
/// embedded cluster runs as another user (we are root), 0711 lets that user pass through to its
/// own 0700 folder, still listing nothing. A looser folder is tightened, with a warning.
fn secure_data_dir(dir: &Path, embedded_cluster: bool) -> Result<(), StartupError> {
    use std::os::unix::fs::PermissionsExt;
    let file_error = |source| StartupError::File { path: dir.to_path_buf(), source };
    let wanted = if embedded_cluster && crate::embedded_pg::runs_as_another_user() { 0o711 } else { 0o700 };
    let mode = std::fs::metadata(dir).map_err(file_error)?.permissions().mode() & 0o777;
    if mode != wanted {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(wanted)).map_err(file_error)?;
        if mode & !wanted != 0 {
            tracing::warn!(folder = %dir.display(), was = format!("{mode:o}"), now = format!("{wanted:o}"), "the data folder was open to others: made private");
        }
    }
    Ok(())
}

/// The КЕП trust of `config`, or the development PKI's qualified CA and its CRL.
fn kep_trust(config: &Config, pki_dir: &std::path::Path) -> Result<KepTrust, StartupError> {
    let (anchors_file, crls) = match &config.kep_trust_anchors {
        Some(path) => (path.clone(), config.kep_crls.clone()),
        None => (
            pki_dir.join(DevPki::QUALIFIED_CA_FILE),
            if config.kep_crls.is_empty() { vec![pki_dir.join(DevPki::QUALIFIED_CRL_FILE)] } else { config.kep_crls.clone() },
        ),
    };
    let pem = std::fs::read(&anchors_file).map_err(|source| StartupError::File { path: anchors_file.clone(), source })?;
    let anchors = openssl::x509::X509::stack_from_pem(&pem).map_err(SealError::from)?;
    if anchors.is_empty() {
        return Err(StartupError::Config(format!("{}: немає сертифікатів надавачів КЕП", anchors_file.display())));
    }
    let revocation = RevocationLists::load(crls, anchors.clone())?;
    let mut operators = BTreeSet::new();
    for code in &config.operators {
        let rnokpp = Rnokpp::parse(code).map_err(|e| StartupError::Config(format!("РНОКПП оператора «{code}»: {e}")))?;
        operators.insert(rnokpp.as_str().to_string());
    }
    if config.kep_trust_anchors.is_none() {
        operators.insert(DevPki::test_operator_rnokpp().map_err(|e| StartupError::Config(e.to_string()))?);
    }
    Ok(KepTrust { anchors, revocation: Arc::new(revocation), operators })
}

impl ServiceKeys {
    /// Loads them from the data folder, making the secret and the development PKI on first use.
    pub fn load(config: &Config) -> Result<Self, StartupError> {
        let data_dir = &config.data_dir;
        std::fs::create_dir_all(data_dir).map_err(|source| StartupError::File { path: data_dir.clone(), source })?;
        let secret = load_or_create_secret(&data_dir.join("service-secret.key"))?;
        let pki_dir = data_dir.join("pki");
        let (pki, dev_seal) = DevPki::load_or_create(&pki_dir)?;
        let (seal, mut seal_certificates) = match &config.seal {
            None => (dev_seal, DevPki::seal_certificates(&pki_dir)?),
            Some(source) => {
                let seal = load_seal(source)?.seal;
                let certificates = SealCertificates::new(seal.certificate().clone(), Vec::new());
                (seal, certificates)
            }
        };
        if let Some(path) = &config.retired_seal_certificates {
            let pem = std::fs::read(path).map_err(|source| StartupError::File { path: path.clone(), source })?;
            seal_certificates = seal_certificates.with_retired_pem(&pem)?;
        }
        let ca_pem = seal.trust_anchors_pem()?;
        let keys = KeyRing::derive(&secret, config.key_generations).map_err(SealError::from)?;
        let kep = kep_trust(config, &pki_dir)?;
        Ok(Self { keys, pki: Arc::new(pki), seal: Arc::new(seal), ca_pem, seal_certificates, kep })
    }

    /// The audit desk over `pool`, signing with these keys.
    pub async fn audit_desk(&self, pool: PgPool, public_base_url: &str, clock: Clock) -> Result<AuditDesk, StartupError> {
        AuditDesk::new(pool, &self.keys, self.seal.clone(), self.ca_pem.clone(), &default_origin(public_base_url), clock)
            .await
            .map_err(|e| StartupError::Config(format!("журнал аудиту: {e}")))
    }
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let data_dir = config.data_dir.clone();
        std::fs::create_dir_all(&data_dir).map_err(|source| StartupError::File { path: data_dir.clone(), source })?;
        secure_data_dir(&data_dir, config.database_url.is_none())?;

        let Database { pool, embedded } = Database::open(&config, false).await?;

        let service_keys = ServiceKeys::load(&config)?;

        let addr = format!("{}:{}", config.host, config.port);
        let listener = tokio::net::TcpListener::bind(&addr).await.map_err(|source| StartupError::Bind { addr: addr.clone(), source })?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind { addr, source })?;
        let public_base_url = config.public_base_url.clone().unwrap_or_else(|| format!("http://{addr}"));

        let audit = service_keys.audit_desk(pool.clone(), &public_base_url, config.clock.clone()).await?;
        let ServiceKeys { keys, pki, seal, ca_pem, seal_certificates, kep } = service_keys;
        let codes = Arc::new(MailboxConfirmationCodes::new(&keys));
        let mut citizens = demo_citizens();
        if config.dev_sign_in {
            citizens.extend(diia_qr_domain::demo::generated_citizens(config.dev_population));
        }
        let citizen_services = ShareRequestServices {
            registry: Arc::new(DemoRegistry::of(citizens.clone())),
            photo: Arc::new(LivenessVerifier::new(
                pool.clone(),
                DevLivenessProvider::new(&keys).and_then(|p| p.public_key()).map_err(SealError::from)?,
                DevLivenessProvider::ISSUER,
            )),
            signature: Arc::new(HeldDiiaSignature::new(pool.clone(), &keys, pki.clone(), config.clock.clone(), &citizens)),
        };
        let settings = EngineSettings {
            public_base_url: public_base_url.clone(),
            share_ttl: chrono::Duration::seconds(config.share_ttl_seconds),
            dev_sign_in: config.dev_sign_in,
            partner_letters_per_day: config.partner_letters_per_day,
            dev_mail_folder: match &config.mail {
                MailConfig::Folder(dir) if config.dev_sign_in => Some(dir.clone()),
                _ => None,
            },
            dev_pki_dir: config.kep_trust_anchors.is_none().then(|| config.data_dir.join("pki")),
        };
        if config.dev_sign_in {
            tracing::warn!("development sign-in is on: it trusts submitted identities; never enable it in a deployment");
        }
        // One LISTEN connection for the whole process, and the announcements of its appends
        // (ADR 0009, ADR 0010).
        let wakeups = Arc::new(Wakeups::default());
        let engine = Arc::new(
            Engine::new(EngineParts {
                pool: pool.clone(),
                keys: keys.clone(),
                mailbox_codes: codes.clone(),
                citizen_services,
                ca_pem: ca_pem.clone(),
                clock: config.clock.clone(),
                settings,
                audit,
                seal: seal.clone(),
                seal_certificates,
                kep,
                wakeups: wakeups.clone(),
            })
            .map_err(SealError::from)?,
        );

        // Builds the font subsets once, so the first copy is not slower than the rest.
        tokio::task::spawn_blocking(PdfBuilder::prepare_fonts);
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        tasks.push(wakeups.clone().spawn(pool.clone(), stop_rx.clone()));
        for p in diia_qr_projections::projections(&keys) {
            tasks.push(spawn_follower(pool.clone(), p, wakeups.clone(), stop_rx.clone()));
        }
        let transport = match &config.mail {
            MailConfig::Folder(dir) => {
                let tightened = MailTransport::secure_folder(dir).map_err(|source| StartupError::File { path: dir.clone(), source })?;
                if tightened > 0 {
                    tracing::warn!(folder = %dir.display(), tightened, "the mail folder was readable by others: made private (0700, letters 0600)");
                }
                MailTransport::folder(dir)
            }
            MailConfig::Smtp(url) => MailTransport::smtp(url, Duration::from_secs(config.smtp_timeout_secs))?,
        };
        let from = config.mail_from.parse().map_err(|e| StartupError::Config(format!("адреса відправника «{}»: {e}", config.mail_from)))?;
        let message_id_domain = url_host(&public_base_url);
        let delivery_counts = Arc::new(DeliveryCounts::default());
        let worker = Arc::new(DeliveryWorker {
            pool: pool.clone(),
            counts: delivery_counts.clone(),
            transport: Arc::new(transport),
            seal,
            codes,
            outcomes: Arc::new(ShareDeliveryOutcomes(engine.clone())),
            settings: DeliverySettings {
                from,
                message_id_domain,
                public_base_url: public_base_url.clone(),
                max_attempts: config.delivery_max_attempts,
                first_retry: Duration::from_millis(config.delivery_first_retry_ms),
                lease: Duration::from_secs(config.delivery_lease_secs.max(1)),
            },
        });
        // Several deliveries at once (each claims its own job, SKIP LOCKED): one letter's SMTP
        // exchange need not wait for another's. Each finishes its letter before it stops.
        for _ in 0..config.delivery_workers.max(1) {
            tasks.push(worker.clone().spawn(wakeups.mail(), stop_rx.clone()));
        }
        tasks.push(spawn_expiry_sweeper(engine.clone(), stop_rx.clone()));
        tasks.push(spawn_checkpoint_signer(engine.clone(), stop_rx.clone()));

        let edge = Edge::new(config.edge.clone(), config.clock.clone());
        let metrics = Arc::new(crate::http::metrics::Metrics::new(config.metrics_token.clone(), delivery_counts));
        let app = router(AppState { engine: engine.clone(), metrics }, edge);
        let server = tokio::spawn(serve(listener, app, config.edge.clone(), stop_rx.clone()));
        tracing::info!(%addr, public_base_url, "Diia.QR engine started");
        Ok(Self { addr, engine, ca_pem, config, stop, tasks, server, embedded })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server and the workers, then the embedded cluster if this process owns one.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let _ = self.server.await;
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        self.engine.close().await;
        stop_embedded(self.embedded.take()).await;
    }
}

/// The connections one engine process keeps to its database, at most.
pub const DATABASE_CONNECTIONS: u32 = 24;

/// The engine's database: a given server, or the embedded cluster in the data folder, migrated.
pub struct Database {
    pub pool: PgPool,
    embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// Connects to `config.database_url`, or else to the embedded cluster in the data folder:
    /// started and owned by this process, unless `attach` is set and a server (`diia-qr serve`)
    /// already runs on it, which one-shot commands then share.
    pub async fn open(config: &Config, attach: bool) -> Result<Self, StartupError> {
        let data_dir = config.data_dir.clone();
        let running = if attach { EmbeddedPostgres::running_database_url(&data_dir.join("postgres"), "diia_qr") } else { None };
        let (database_url, embedded) = match (&config.database_url, running) {
            (Some(url), _) => (url.clone(), None),
            (None, Some(url)) => (url, None),
            (None, None) => {
                std::fs::create_dir_all(&data_dir).map_err(|source| StartupError::File { path: data_dir.clone(), source })?;
                let dir = data_dir.join("postgres");
                let pg = tokio::task::spawn_blocking(move || -> Result<EmbeddedPostgres, EmbeddedPgError> {
                    let pg = EmbeddedPostgres::start(&dir)?;
                    pg.create_database("diia_qr")?;
                    Ok(pg)
                })
                .await
                .map_err(|e| StartupError::Config(e.to_string()))??;
                (pg.database_url("diia_qr"), Some(pg))
            }
        };
        // No ping before each acquire: sqlx would otherwise add a round trip to every statement
        // (it pings again on release regardless, in the background). A connection that died with
        // the server fails its statement with a connection error — 503, try again — and is
        // dropped by that release ping (ADR 0010).
        let pool = PgPoolOptions::new()
            .max_connections(DATABASE_CONNECTIONS)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect(&database_url)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool, embedded })
    }

    /// Closes the pool, then stops the embedded cluster if this process started it.
    pub async fn close(self) {
        self.pool.close().await;
        stop_embedded(self.embedded).await;
    }
}

async fn stop_embedded(embedded: Option<EmbeddedPostgres>) {
    if let Some(mut pg) = embedded {
        let _ = tokio::task::spawn_blocking(move || pg.stop()).await;
    }
}

fn url_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', ':']).next().unwrap_or("localhost");
    if host.is_empty() {
        "localhost".into()
    } else {
        host.to_string()
    }
}

/// Signs a checkpoint of the audit trail every minute, when it grew: what auditors compare
/// their copies against, so a rewritten trail shows as an inconsistency.
fn spawn_checkpoint_signer(engine: Arc<Engine>, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            }
            match engine.audit().checkpoint().await {
                Ok(_) | Err(EngineError::Rule { .. }) => {}
                Err(e) => tracing::warn!(error = %e, "audit checkpoint"),
            }
        }
    })
}

/// Expires open requests whose time ran out and erases the data of requests whose retention ran
/// out, every few seconds.
fn spawn_expiry_sweeper(engine: Arc<Engine>, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = engine.expire_overdue().await {
                tracing::warn!(error = %e, "expiry sweep");
            }
            if let Err(e) = engine.erase_overdue().await {
                tracing::warn!(error = %e, "retention sweep");
            }
            tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        }
    })
}
