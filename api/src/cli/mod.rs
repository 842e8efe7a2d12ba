//! The command line: flags and environment variables become a `Config`; each subcommand is one
//! function. Errors print once, with their cause chain.

mod audit;
mod demo;
mod pki;
mod projections;
mod verify;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use diia_qr::config::{Config, MailConfig};
use diia_qr::startup::Application;

#[derive(Parser)]
#[command(name = "diia-qr", version, about = "Дія.QR: копії документів громадян на пошту організації")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the HTTP API. Without DATABASE_URL it starts and owns a private PostgreSQL cluster.
    Serve {
        #[arg(long, env = "DIIA_QR_PORT", default_value_t = 8080)]
        port: u16,
        #[arg(long, env = "DIIA_QR_HOST", default_value = "127.0.0.1")]
        host: String,
        #[arg(long, env = "DIIA_QR_DATA_DIR", default_value = ".diia-qr")]
        data_dir: PathBuf,
        #[arg(long, env = "DATABASE_URL")]
        database_url: Option<String>,
        /// Base of the links printed in QR codes.
        #[arg(long, env = "DIIA_QR_PUBLIC_URL")]
        public_url: Option<String>,
        /// Send mail over SMTP (lettre URL: smtp://host:25, smtp://host:587?tls=required, smtps://user:pass@host).
        #[arg(long, env = "DIIA_QR_SMTP_URL")]
        smtp_url: Option<String>,
        /// Without SMTP, mail goes to this folder as .eml files (default: DATA_DIR/outbox).
        #[arg(long, env = "DIIA_QR_MAIL_DIR")]
        mail_dir: Option<PathBuf>,
        #[arg(long, env = "DIIA_QR_MAIL_FROM")]
        mail_from: Option<String>,
        #[command(flatten)]
        delivery: DeliveryArgs,
        #[command(flatten)]
        edge: EdgeArgs,
        #[command(flatten)]
        seal: SealArgs,
        #[command(flatten)]
        keys: KeyArgs,
        #[command(flatten)]
        sign_in: SignInArgs,
        /// The bearer token a Prometheus scraper presents at /metrics; without it /metrics is closed.
        #[arg(long, env = "DIIA_QR_METRICS_TOKEN", hide_env_values = true)]
        metrics_token: Option<String>,
    },
    /// Checks a copy. Offline: is COPY.p7s the service's own seal over COPY.pdf. With
    /// --registry: the full verdict, as the API gives it, with or without the P7S.
    Verify {
        pdf: PathBuf,
        /// The .p7s that came with the copy.
        p7s: Option<PathBuf>,
        /// Trust anchors (PEM, as published at /api/v1/ca.pem); by default the development CA in
        /// DATA_DIR/pki.
        #[arg(long)]
        ca: Option<PathBuf>,
        /// The service's seal certificates (PEM, as published at /api/v1/seal-certificates.pem):
        /// only a signature by one of them makes a copy genuine. By default the development
        /// seal's, current and retired, in DATA_DIR/pki.
        #[arg(long)]
        seal_certificates: Option<PathBuf>,
        /// Also ask the registry of issued copies in the service's database (DATABASE_URL, or the
        /// embedded cluster in DATA_DIR): were these bytes issued, when, for whom, what changed.
        #[arg(long)]
        registry: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// The development PKI.
    Pki {
        #[command(subcommand)]
        command: pki::PkiCommand,
    },
    /// Qualified electronic signatures (КЕП): sign a sign-in challenge.
    Kep {
        #[command(subcommand)]
        command: pki::KepCommand,
    },
    /// The audit trail: export it, verify an export offline.
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// One partner's or one citizen's consent history, replayed from the log as of a moment.
    History {
        #[command(flatten)]
        args: audit::HistoryArgs,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Projections and reactors: status, rebuild, resume.
    Projections {
        #[command(subcommand)]
        command: projections::ProjectionsCommand,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Runs the whole flow against a fresh embedded instance and leaves the QR, the e-mails and
    /// the CA certificate in OUT.
    Demo {
        #[arg(long)]
        out: PathBuf,
    },
}

/// Which database a one-shot command works on: the server's, shared while it runs.
#[derive(clap::Args)]
struct DatabaseArgs {
    #[arg(long, global = true, env = "DIIA_QR_DATA_DIR", default_value = ".diia-qr")]
    data_dir: PathBuf,
    #[arg(long, global = true, env = "DATABASE_URL")]
    database_url: Option<String>,
}

impl DatabaseArgs {
    fn config(self) -> Config {
        let mut config = Config::with_data_dir(self.data_dir);
        config.database_url = self.database_url;
        config
    }
}

/// Who may sign in. Without these flags partners sign in with КЕП of the development PKI in
/// DATA_DIR/pki.
#[derive(clap::Args)]
struct SignInArgs {
    /// The CA certificates (PEM bundle) whose КЕП may sign partners in: the qualified trust
    /// service providers' CAs.
    #[arg(long, env = "DIIA_QR_KEP_TRUST_ANCHORS")]
    kep_trust_anchors: Option<PathBuf>,
    /// A certificate revocation list of one of those CAs (PEM or DER; repeat for each). Re-read
    /// when the file changes, so a scheduled download needs no restart.
    #[arg(long, env = "DIIA_QR_KEP_CRL", value_delimiter = ',')]
    kep_crl: Vec<PathBuf>,
    /// The РНОКПП of an operator of the service (repeat, or separate with commas): their КЕП
    /// opens the operators' desk. With the development PKI its test operator is one anyway.
    #[arg(long = "operator-rnokpp", env = "DIIA_QR_OPERATORS", value_delimiter = ',')]
    operators: Vec<String>,
    /// Turns on the development sign-ins (POST /api/v1/dev/*-sessions), which trust the
    /// submitted identity. Never in a deployment.
    #[arg(long, env = "DIIA_QR_DEV_SIGN_IN")]
    dev_sign_in: bool,
    /// Adds this many generated citizens to the development registry (each with the code
    /// 222222), for load runs with many citizens at once.
    #[arg(long, env = "DIIA_QR_DEV_POPULATION", default_value_t = 0, requires = "dev_sign_in")]
    dev_population: usize,
}

/// The seal that signs copies. Without these flags, a development seal is made in DATA_DIR/pki.
#[derive(clap::Args)]
struct SealArgs {
    /// The seal's private key (PEM, unencrypted); with --seal-certificate.
    #[arg(long, env = "DIIA_QR_SEAL_KEY", requires = "seal_certificate", conflicts_with = "seal_p12")]
    seal_key: Option<PathBuf>,
    /// The seal's certificate (PEM); may be followed by its chain.
    #[arg(long, env = "DIIA_QR_SEAL_CERTIFICATE", requires = "seal_key")]
    seal_certificate: Option<PathBuf>,
    /// The chain up to the trust anchor (PEM), if not in the certificate file.
    #[arg(long, env = "DIIA_QR_SEAL_CHAIN")]
    seal_chain: Option<PathBuf>,
    /// The seal as PKCS#12 (key, certificate and chain).
    #[arg(long, env = "DIIA_QR_SEAL_P12")]
    seal_p12: Option<PathBuf>,
    #[arg(long, env = "DIIA_QR_SEAL_P12_PASSWORD", default_value = "", hide_env_values = true)]
    seal_p12_password: String,
    /// Seal certificates used before the current one (PEM): their copies stay genuine.
    #[arg(long, env = "DIIA_QR_RETIRED_SEAL_CERTIFICATES")]
    retired_seal_certificates: Option<PathBuf>,
}

impl SealArgs {
    /// The configured seal and the retired seal certificates.
    fn source(self) -> (Option<diia_qr::config::SealKeySource>, Option<PathBuf>) {
        use diia_qr::config::SealKeySource;
        let retired = self.retired_seal_certificates;
        let source = match (self.seal_key, self.seal_certificate, self.seal_p12) {
            (Some(key), Some(certificate), _) => Some(SealKeySource::Pem { key, certificate, chain: self.seal_chain }),
            (_, _, Some(path)) => Some(SealKeySource::Pkcs12 { path, password: self.seal_p12_password }),
            _ => None,
        };
        (source, retired)
    }
}

/// The generation of each key derived from the service secret. Raising one rotates that key
/// alone: `--session-key-generation 2` ends every session and leaves printed QR codes working.
#[derive(clap::Args)]
struct KeyArgs {
    #[arg(long, env = "DIIA_QR_SESSION_KEY_GENERATION", default_value_t = 1)]
    session_key_generation: u32,
    /// Rotating it gives new QR codes new tokens; re-issue QR codes after raising it.
    #[arg(long, env = "DIIA_QR_QR_TOKEN_KEY_GENERATION", default_value_t = 1)]
    qr_token_key_generation: u32,
    /// Rotating it voids every printed short code.
    #[arg(long, env = "DIIA_QR_SHORT_CODE_KEY_GENERATION", default_value_t = 1)]
    short_code_key_generation: u32,
    /// Rotating it voids mailbox codes not yet used.
    #[arg(long, env = "DIIA_QR_MAILBOX_CODE_KEY_GENERATION", default_value_t = 1)]
    mailbox_code_key_generation: u32,
    /// Rotating it voids the cursors of search results already handed out.
    #[arg(long, env = "DIIA_QR_SEARCH_CURSOR_KEY_GENERATION", default_value_t = 1)]
    search_cursor_key_generation: u32,
    /// Rotating it gives the audit log a new signing key: publish its verifier key.
    #[arg(long, env = "DIIA_QR_AUDIT_LOG_KEY_GENERATION", default_value_t = 1)]
    audit_log_key_generation: u32,
}

impl From<KeyArgs> for diia_qr::config::KeyGenerations {
    fn from(k: KeyArgs) -> Self {
        Self {
            sessions: k.session_key_generation,
            qr_tokens: k.qr_token_key_generation,
            qr_short_codes: k.short_code_key_generation,
            mailbox_codes: k.mailbox_code_key_generation,
            search_cursors: k.search_cursor_key_generation,
            audit_log: k.audit_log_key_generation,
        }
    }
}

/// How the delivery worker retries.
#[derive(clap::Args)]
struct DeliveryArgs {
    /// Attempts before a delivery a mail server keeps deferring is marked failed. Waits double
    /// up to five minutes, so the default keeps trying for about four days, as a mail server
    /// keeps a message; a refusal (5xx) fails at once.
    #[arg(long, env = "DIIA_QR_DELIVERY_MAX_ATTEMPTS", default_value_t = 1_200)]
    delivery_max_attempts: u32,
    /// Deliveries in flight at once in this process (each its own SMTP exchange).
    #[arg(long, env = "DIIA_QR_DELIVERY_WORKERS", default_value_t = 4)]
    delivery_workers: usize,
    /// First retry delay; doubled each attempt, with jitter.
    #[arg(long, env = "DIIA_QR_DELIVERY_FIRST_RETRY_MS", default_value_t = 2_000)]
    delivery_first_retry_ms: u64,
    /// A job's lease: after a worker dies mid-delivery, another takes the job after this.
    #[arg(long, env = "DIIA_QR_DELIVERY_LEASE_SECS", default_value_t = 90)]
    delivery_lease_secs: u64,
    #[arg(long, env = "DIIA_QR_SMTP_TIMEOUT_SECS", default_value_t = 20)]
    smtp_timeout_secs: u64,
}

/// The HTTP edge's limits (docs/security.md says what each defends).
#[derive(clap::Args)]
struct EdgeArgs {
    /// A client must send a request's headers within this, or its connection is closed.
    #[arg(long, env = "DIIA_QR_HEADER_READ_TIMEOUT_SECS", default_value_t = 10)]
    header_read_timeout_secs: u64,
    /// A request not answered within this is answered 503.
    #[arg(long, env = "DIIA_QR_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    request_timeout_secs: u64,
    /// Open connections at most; further clients wait to be accepted.
    #[arg(long, env = "DIIA_QR_MAX_CONNECTIONS", default_value_t = 1024)]
    max_connections: usize,
    /// Requests handled at once at most; beyond, 503 with Retry-After.
    #[arg(long, env = "DIIA_QR_MAX_IN_FLIGHT", default_value_t = 256)]
    max_in_flight: usize,
    /// Requests a minute per client address where a request tests a guess or checks a signature.
    #[arg(long, env = "DIIA_QR_GUESSES_PER_MINUTE", default_value_t = 30)]
    guesses_per_minute: u32,
    /// Requests a minute per client address on the other endpoints that need no session.
    #[arg(long, env = "DIIA_QR_PUBLIC_REQUESTS_PER_MINUTE", default_value_t = 600)]
    public_requests_per_minute: u32,
}

impl From<EdgeArgs> for diia_qr::config::EdgeLimits {
    fn from(e: EdgeArgs) -> Self {
        Self {
            header_read_timeout: Duration::from_secs(e.header_read_timeout_secs.max(1)),
            request_timeout: Duration::from_secs(e.request_timeout_secs.max(1)),
            max_connections: e.max_connections,
            max_in_flight: e.max_in_flight,
            guesses_per_minute: e.guesses_per_minute,
            public_per_minute: e.public_requests_per_minute,
        }
    }
}

/// glibc raises its mmap threshold each time a large block is freed, up to 32 MiB; after that,
/// Argon2id's 19 MiB blocks and the copies' buffers come from per-thread arenas and stay
/// resident — 560 MiB after 500 shares in `scripts/bench-load`. A fixed threshold gives them
/// back to the system on free (ADR 0008).
fn keep_large_blocks_returnable() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called first, before other threads.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}

pub fn main() -> ExitCode {
    keep_large_blocks_returnable();
    // `DIIA_QR_LOG_FORMAT=json`: one JSON object a line (with the request's span and its id),
    // for a log collector; otherwise lines for people.
    let logs = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into()))
        .with_writer(std::io::stderr)
        // Colours for a person at a terminal, none in a file or a pipe.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if std::env::var("DIIA_QR_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        logs.json().with_current_span(true).init();
    } else {
        logs.init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("помилка: не вдалося запустити tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(Cli::parse())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("помилка: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            port,
            host,
            data_dir,
            database_url,
            public_url,
            smtp_url,
            mail_dir,
            mail_from,
            delivery,
            edge,
            seal,
            keys,
            sign_in,
            metrics_token,
        } => {
            let mut config = Config::with_data_dir(data_dir);
            config.edge = edge.into();
            (config.seal, config.retired_seal_certificates) = seal.source();
            config.kep_trust_anchors = sign_in.kep_trust_anchors;
            config.kep_crls = sign_in.kep_crl;
            config.operators = sign_in.operators;
            config.dev_sign_in = sign_in.dev_sign_in;
            config.dev_population = sign_in.dev_population;
            config.metrics_token = metrics_token;
            config.key_generations = keys.into();
            config.delivery_max_attempts = delivery.delivery_max_attempts;
            config.delivery_workers = delivery.delivery_workers;
            config.delivery_first_retry_ms = delivery.delivery_first_retry_ms;
            config.delivery_lease_secs = delivery.delivery_lease_secs;
            config.smtp_timeout_secs = delivery.smtp_timeout_secs;
            config.port = port;
            config.host = host;
            config.database_url = database_url;
            config.public_base_url = public_url;
            if let Some(url) = smtp_url {
                config.mail = MailConfig::Smtp(url);
            } else if let Some(dir) = mail_dir {
                config.mail = MailConfig::Folder(dir);
            }
            if let Some(from) = mail_from {
                config.mail_from = from;
            }
            let mail = match &config.mail {
                MailConfig::Folder(dir) => format!("листи — у теку {}", dir.display()),
                MailConfig::Smtp(_) => "листи — через SMTP".to_string(),
            };
            let simulator = config.dev_sign_in;
            let test_keps = config.kep_trust_anchors.is_none().then(|| config.data_dir.join("pki").join("partners"));
            // Listen for signals before announcing the URL, so a stop request is never missed.
            let stop = shutdown_signal()?;
            let app = Application::build(config).await.context("не вдалося запустити Дія.QR")?;
            let base = app.base_url();
            println!("Дія.QR слухає на {base} ({mail}). Ctrl+C — зупинити.");
            // Whoever started us may read only the first line: the rest must not fail on a closed pipe.
            let mut out = std::io::stdout();
            let _ = writeln!(out, "  Кабінет партнера:          {base}/cabinet");
            let _ = writeln!(out, "  Робоче місце оператора:    {base}/desk");
            if simulator {
                let _ = writeln!(out, "  Симулятор застосунку Дія:  {base}/simulator");
            }
            if let Some(dir) = test_keps {
                let _ = writeln!(out, "  Тестові КЕП керівників:    {}", dir.display());
            }
            stop.await;
            // Whoever started us may have stopped reading: a closed stdout is no reason to fail.
            let _ = writeln!(std::io::stdout(), "Зупиняюся…");
            app.shutdown().await;
            Ok(())
        }
        Command::Audit { command, database } => audit::run(command, &database.config()).await,
        Command::Pki { command } => pki::run_pki(command),
        Command::Kep { command } => pki::run_kep(command),
        Command::History { args, database } => audit::history(args, &database.config()).await,
        Command::Projections { command, database } => projections::run(command, &database.config()).await,
        Command::Demo { out } => demo::run(&out).await.context("демонстрацію перервано"),
        Command::Verify { pdf, p7s, ca, seal_certificates, registry, database } => {
            verify::run(verify::Files { pdf, p7s, ca, seal_certificates }, registry, database).await
        }
    }
}

/// Resolves on Ctrl+C or SIGTERM (what service managers and CI send). Both handlers are installed
/// before this returns.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}
