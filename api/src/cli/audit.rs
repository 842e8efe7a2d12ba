//! `diia-qr audit`: export the trail (on the server's database, beside it) and verify an export
//! offline, with nothing but the file and, ideally, the certificates and log key you trust.

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use diia_qr::app::audit::{ExportRequest, ExportRequester};
use diia_qr::config::Config;
use diia_qr::startup::{Database, ServiceKeys};
use diia_qr_domain::identifiers::Rnokpp;
use diia_qr_projections::audit_trail::export::ExportFormat;
use diia_qr_projections::audit_trail::verify::{verify_export, Trust};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::mpsc;
use uuid::Uuid;

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Streams the entries that match into FILE (or stdout): JSON Lines with a proof per entry
    /// (verifiable), or CSV for people. Recorded in the trail as an operator's export.
    Export {
        #[arg(long)]
        partner: Option<Uuid>,
        /// A citizen's РНОКПП: the entries of their requests.
        #[arg(long)]
        rnokpp: Option<String>,
        /// From this time (RFC 3339, e.g. 2026-03-01T00:00:00+02:00).
        #[arg(long)]
        from: Option<DateTime<Utc>>,
        /// Until this time, not included.
        #[arg(long)]
        to: Option<DateTime<Utc>>,
        #[arg(long, value_enum, default_value = "jsonl")]
        format: Format,
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Who exports, as the trail records it.
        #[arg(long, env = "USER", default_value = "cli")]
        operator: String,
    },
    /// Checks an export offline: the checkpoint's signatures, the sealed list of entries, each
    /// entry's inclusion proof and chain, and each consent signature. Names the first line that
    /// does not hold.
    Verify {
        file: PathBuf,
        /// The CA certificates you trust (PEM); without it, those in the file.
        #[arg(long)]
        ca: Option<PathBuf>,
        /// The log's verifier key you trust (`name+id+key`); without it, the one in the file.
        #[arg(long)]
        log_key: Option<String>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Jsonl,
    Csv,
}

pub async fn run(command: AuditCommand, config: &Config) -> anyhow::Result<()> {
    match command {
        AuditCommand::Export { partner, rnokpp, from, to, format, out, operator } => {
            let citizen = rnokpp.as_deref().map(Rnokpp::parse).transpose().context("РНОКПП")?;
            let format = match format {
                Format::Jsonl => ExportFormat::JsonLines,
                Format::Csv => ExportFormat::Csv,
            };
            export(config, ExportRequest { partner_id: partner, citizen, from, to }, format, out.as_deref(), operator).await
        }
        AuditCommand::Verify { file, ca, log_key } => verify(&file, ca.as_deref(), log_key),
    }
}

async fn export(config: &Config, request: ExportRequest, format: ExportFormat, out: Option<&Path>, operator: String) -> anyhow::Result<()> {
    let keys = ServiceKeys::load(config).context("ключі служби")?;
    let database = Database::open(config, true).await.context("не вдалося відкрити базу даних")?;
    let public_url = config.public_base_url.clone().unwrap_or_else(|| format!("http://{}:{}", config.host, config.port));
    let desk = keys.audit_desk(database.pool.clone(), &public_url, config.clock.clone()).await?;
    let mut sink: Box<dyn Write + Send> = match out {
        Some(path) => {
            Box::new(BufWriter::new(std::fs::File::create(path).with_context(|| format!("не вдалося створити {}", path.display()))?))
        }
        None => Box::new(BufWriter::new(std::io::stdout())),
    };
    let (lines, mut received) = mpsc::channel::<String>(1024);
    let requester = ExportRequester::Operator { name: format!("cli:{operator}") };
    let exporting = async { desk.export(&requester, request, format, lines).await };
    let bar = ProgressBar::new_spinner().with_message("записів");
    bar.set_style(ProgressStyle::with_template("{spinner} {pos} {msg} · {per_sec}").context("шаблон індикатора")?);
    let writing = async {
        while let Some(line) = received.recv().await {
            sink.write_all(line.as_bytes())?;
            sink.write_all(b"\n")?;
            bar.inc(1);
        }
        sink.flush()
    };
    let (exported, written) = tokio::join!(exporting, writing);
    bar.finish_and_clear();
    written.context("не вдалося записати вивантаження")?;
    let entries = exported.context("вивантаження не вдалося")?;
    database.close().await;
    eprintln!("Вивантажено записів: {entries}.");
    Ok(())
}

fn verify(file: &Path, ca: Option<&Path>, log_key: Option<String>) -> anyhow::Result<()> {
    let anchors = match ca {
        Some(path) => {
            let pem = std::fs::read(path).with_context(|| format!("не вдалося прочитати {}", path.display()))?;
            Some(openssl::x509::X509::stack_from_pem(&pem).with_context(|| format!("{}: не PEM-сертифікати", path.display()))?)
        }
        None => None,
    };
    let reader = std::io::BufReader::new(std::fs::File::open(file).with_context(|| format!("не вдалося відкрити {}", file.display()))?);
    match verify_export(reader.lines(), &Trust { anchors, log_key }) {
        Ok(verified) => {
            println!(
                "Вивантаження цілісне: {} записів, {} підписів згоди перевірено; контрольна точка {} на {} записів.",
                verified.entries, verified.consents, verified.checkpoint.origin, verified.checkpoint.size
            );
            if verified.self_asserted {
                println!(
                    "Увага: довіру взято з самого файлу. Вкажіть --ca і --log-key, опубліковані службою, щоб перевірка не залежала від нього."
                );
            }
            Ok(())
        }
        Err(rejected) => bail!("вивантаження не пройшло перевірку: {rejected}"),
    }
}

/// `diia-qr history`: one partner's or one citizen's consent history, replayed from the log as
/// of a moment.
#[derive(clap::Args)]
pub struct HistoryArgs {
    #[arg(long, conflicts_with = "rnokpp", required_unless_present = "rnokpp")]
    partner: Option<Uuid>,
    #[arg(long)]
    rnokpp: Option<String>,
    /// Replay up to this moment (RFC 3339, e.g. 2026-03-01T00:00:00+02:00); now by default.
    #[arg(long)]
    as_of: Option<DateTime<Utc>>,
    #[arg(long)]
    json: bool,
}

pub async fn history(args: HistoryArgs, config: &Config) -> anyhow::Result<()> {
    use diia_qr::app::audit::HistoryRequest;
    let request = match (args.partner, args.rnokpp.as_deref()) {
        (Some(partner), _) => HistoryRequest::Partner(partner),
        (None, Some(rnokpp)) => HistoryRequest::Citizen(Rnokpp::parse(rnokpp).context("РНОКПП")?),
        (None, None) => bail!("вкажіть --partner або --rnokpp"),
    };
    let keys = ServiceKeys::load(config).context("ключі служби")?;
    let database = Database::open(config, true).await.context("не вдалося відкрити базу даних")?;
    let public_url = config.public_base_url.clone().unwrap_or_else(|| format!("http://{}:{}", config.host, config.port));
    let desk = keys.audit_desk(database.pool.clone(), &public_url, config.clock.clone()).await?;
    let bar = ProgressBar::new(0).with_message("подій");
    bar.set_style(
        ProgressStyle::with_template("[{bar:32}] {pos}/{len} {msg} · {per_sec} · залишилось {eta}")
            .context("шаблон індикатора")?
            .progress_chars("=> "),
    );
    let history = desk
        .history(&request, args.as_of, |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })
        .await;
    bar.finish_and_clear();
    database.close().await;
    let history = history?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&history)?);
        return Ok(());
    }
    println!("Станом на {}: запитів {}, подій відтворено {}.", history.as_of.to_rfc3339(), history.shares.len(), history.events);
    for share in &history.shares {
        println!("\n{} — {} ({}): {:?}", share.share_request_id, share.organisation_name, share.service_names.join(", "), share.status);
        for item in &share.timeline {
            println!("  {}  {}", item.at.to_rfc3339(), item.event);
        }
        if let Some(consent) = &share.consent {
            let verdict = if consent.signature_valid { "підпис дійсний" } else { "ПІДПИС НЕДІЙСНИЙ" };
            println!("  згода {}: {verdict} ({})", consent.signed_at.to_rfc3339(), consent.signature_detail);
        }
        if !share.documents_sent.is_empty() {
            println!("  надіслано: {}", share.documents_sent.join(", "));
        }
    }
    Ok(())
}
