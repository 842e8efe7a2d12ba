//! `diia-qr projections`: where each projection stands, rebuilding a view from the first event,
//! resuming a halted one. Works beside a running server, on its database.

use anyhow::{bail, Context};
use diia_qr::config::Config;
use diia_qr::startup::Database;
use diia_qr_projections::log::{projection_status, rebuild, resume, ProjectionStatus};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(clap::Subcommand)]
pub enum ProjectionsCommand {
    /// Each projection's position, lag (events and seconds) and last error.
    Status {
        /// As JSON, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Replays the log from the first event into fresh tables and swaps them in while the
    /// server keeps serving. Without NAME, every view (reactors are never replayed).
    Rebuild { name: Option<String> },
    /// Lets a halted projection try its failed event again, after the code was fixed.
    Resume { name: String },
}

pub async fn run(command: ProjectionsCommand, config: &Config) -> anyhow::Result<()> {
    let database = Database::open(config, true).await.context("не вдалося відкрити базу даних")?;
    let result = match command {
        ProjectionsCommand::Status { json } => status(&database, json).await,
        ProjectionsCommand::Rebuild { name } => rebuild_views(&database, name.as_deref()).await,
        ProjectionsCommand::Resume { name } => {
            known(&name)?;
            if resume(&database.pool, &name).await? {
                println!("Проєкцію «{name}» відновлено: вона знову спробує подію, на якій зупинилася.");
            } else {
                println!("Проєкція «{name}» не була зупинена.");
            }
            Ok(())
        }
    };
    database.close().await;
    result
}

fn names() -> Vec<&'static str> {
    diia_qr_projections::projection_names()
}

fn known(name: &str) -> anyhow::Result<()> {
    if !names().contains(&name) {
        bail!("немає проєкції «{name}»; є: {}", names().join(", "));
    }
    Ok(())
}

async fn status(database: &Database, json: bool) -> anyhow::Result<()> {
    let all = projection_status(&database.pool, &names()).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    println!("{:<16} {:>10} {:>24}  стан", "проєкція", "подія", "відставання");
    for p in &all {
        println!("{:<16} {:>10} {:>24}  {}", p.name, p.position.global_id, lag(p), state(p));
    }
    Ok(())
}

fn lag(p: &ProjectionStatus) -> String {
    format!("{} подій, {:.1} с", p.lag_events, p.lag_seconds)
}

fn state(p: &ProjectionStatus) -> String {
    match (&p.last_error, p.halted) {
        (Some(error), true) => format!("ЗУПИНЕНА на події {}: {error}", p.failed_global_id.unwrap_or_default()),
        (Some(error), false) => format!("збій, повторює: {error}"),
        (None, _) => "працює".to_string(),
    }
}

async fn rebuild_views(database: &Database, name: Option<&str>) -> anyhow::Result<()> {
    if let Some(name) = name {
        known(name)?;
    }
    let views = diia_qr_projections::views();
    let chosen: Vec<_> = match name {
        Some(name) if !views.iter().any(|p| p.name() == name) => {
            bail!("проєкцію «{name}» не перебудовують: її наслідки (листи, записи аудиту) не відтворюються з журналу подій")
        }
        Some(name) => views.into_iter().filter(|p| p.name() == name).collect(),
        None => views,
    };
    for projection in chosen {
        let bar = ProgressBar::new(0).with_message(projection.name());
        bar.set_style(
            ProgressStyle::with_template("{msg:16} [{bar:32}] {pos}/{len} подій · {per_sec} · залишилось {eta}")
                .context("шаблон індикатора")?
                .progress_chars("=> "),
        );
        let report = rebuild(&database.pool, projection.as_ref(), |p| {
            bar.set_length(p.total);
            bar.set_position(p.applied);
        })
        .await;
        bar.finish_and_clear();
        let report = report.with_context(|| format!("проєкцію «{}» не перебудовано; поточна лишилася як була", projection.name()))?;
        println!(
            "Проєкцію «{}» перебудовано: {} подій за {:.1} с ({:.0} подій/с), до події {}.",
            projection.name(),
            report.events,
            report.seconds,
            report.events as f64 / report.seconds.max(1e-9),
            report.position.global_id
        );
    }
    Ok(())
}
