//! The delivery worker: drains the mail outbox. Each job is leased for a while (no transaction
//! stays open across SMTP), rendered, signed and sent; then the outcome is recorded on the share
//! request. Transient failures retry with exponential backoff and jitter; after the retry budget,
//! or at a permanent refusal, the share is marked failed. A crash after sending and before
//! recording re-sends the job once the lease lapses: at most one duplicate, with the same
//! Message-ID.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diia_qr_domain::branch::EmailConfirmationCodes;
use diia_qr_domain::documents::HeldDocument;
use diia_qr_domain::share_request::{ShareRequestEvent, ShareSnapshot};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::Message;
use sqlx::{PgPool, Row};
use tokio::sync::watch;
use uuid::Uuid;

use super::mailer::{MailError, MailTransport};
use super::outbox::{MailJob, RemovedSubject};
use crate::digest::sha256_hex;
use crate::documents::copies::{copy_id, copy_seed, file_stem, render_copy, CopyContext};
use crate::documents::wording::{days_uk, kyiv_time};
use crate::seal::Seal;

/// Records what became of a share's copies: on the ShareRequest aggregate, in the application.
#[async_trait]
pub trait DeliveryOutcomes: Send + Sync {
    async fn delivered(&self, share_request_id: Uuid, accepted_at: DateTime<Utc>, message_id: &str) -> Result<(), String>;
    async fn failed(&self, share_request_id: Uuid, at: DateTime<Utc>, reason: &str) -> Result<(), String>;
}

#[derive(Debug, Clone)]
pub struct DeliverySettings {
    pub from: Mailbox,
    /// The right-hand side of Message-IDs, e.g. the public host name.
    pub message_id_domain: String,
    /// Base of the verification links printed on copies.
    pub public_base_url: String,
    pub max_attempts: u32,
    pub first_retry: Duration,
    pub lease: Duration,
}

/// What this process's delivery workers did since it started, by outcome: each instance reports
/// its own (the outbox's figures in the database are the whole cluster's).
#[derive(Debug, Default)]
pub struct DeliveryCounts {
    /// The mail server said "250".
    pub accepted: std::sync::atomic::AtomicU64,
    /// Not delivered this time; tried again later.
    pub deferred: std::sync::atomic::AtomicU64,
    /// Given up: refused by the mail server, or out of attempts.
    pub failed: std::sync::atomic::AtomicU64,
}

impl DeliveryCounts {
    fn count(counter: &std::sync::atomic::AtomicU64) {
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

pub struct DeliveryWorker {
    pub pool: PgPool,
    pub counts: Arc<DeliveryCounts>,
    pub transport: Arc<MailTransport>,
    pub seal: Arc<dyn Seal>,
    pub codes: Arc<dyn EmailConfirmationCodes>,
    pub outcomes: Arc<dyn DeliveryOutcomes>,
    pub settings: DeliverySettings,
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("job {0} does not decode: {1}")]
    Decode(String, serde_json::Error),
}

struct ClaimedJob {
    job_id: String,
    attempts: i32,
    job: MailJob,
}

/// One rendered and signed copy, ready to attach.
pub struct SignedCopy {
    pub document: HeldDocument,
    pub copy_id: Uuid,
    pub stem: String,
    pub pdf: Vec<u8>,
    pub p7s: Vec<u8>,
    /// Each object's short digest, for the registry ([`crate::documents::pdf::read::object_digests`]).
    pub object_digests: Vec<(u32, String)>,
}

/// What a share sent, read back from the log: the copies' data and how to name them.
pub struct SentCopies {
    pub snapshot: ShareSnapshot,
    pub copies: Vec<HeldDocument>,
    pub made_at: DateTime<Utc>,
    pub copy_seed: Uuid,
}

/// Renders and seals every copy of a share. CPU-bound: call it off the async executor.
pub fn sign_copies(
    seal: &dyn Seal,
    share_request_id: Uuid,
    copy_seed: Uuid,
    snapshot: &ShareSnapshot,
    copies: &[HeldDocument],
    made_at: DateTime<Utc>,
    public_base_url: &str,
) -> Result<Vec<SignedCopy>, String> {
    copies
        .iter()
        .map(|document| {
            // The QR on each copy leads to its own verification page.
            let id = copy_id(copy_seed, document);
            let verification_url = format!("{}/verify/{id}", public_base_url.trim_end_matches('/'));
            let ctx = CopyContext {
                share_request_id,
                copy_seed,
                organisation_name: &snapshot.organisation_name,
                branch_name: &snapshot.branch_name,
                branch_address: &snapshot.branch_address,
                purposes: &snapshot.service_names,
                retention_days: snapshot.retention_days,
                made_at,
                verification_url: &verification_url,
            };
            let pdf = render_copy(document, &ctx).map_err(|e| format!("PDF: {e}"))?;
            let p7s = seal.sign_detached(&pdf, made_at).map_err(|e| format!("печатка: {e}"))?;
            // Read back as any verifier will read it: a copy lopdf cannot read is not sent.
            let read = crate::documents::pdf::read::open(&pdf).map_err(|e| format!("PDF: {e}"))?;
            let object_digests = crate::documents::pdf::read::object_digests(&read, &pdf);
            Ok(SignedCopy { document: document.clone(), copy_id: id, stem: file_stem(document, id), pdf, p7s, object_digests })
        })
        .collect()
}

/// Records each copy before it leaves (by mail or a download), so anyone it reaches can have it
/// verified. A copy rendered again is the same PDF: its row is already there.
pub async fn record_issued(
    pool: &PgPool,
    share_request_id: Uuid,
    snapshot: &ShareSnapshot,
    signed: &[SignedCopy],
    made_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    for c in signed {
        sqlx::query(
            "INSERT INTO issued_copies (pdf_sha256, copy_id, share_request_id, partner_id, organisation_name, branch_name,
                 branch_address, purposes, document_type, made_at, pdf_length, object_digests)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (pdf_sha256) DO NOTHING",
        )
        .bind(sha256_hex(&c.pdf))
        .bind(c.copy_id)
        .bind(share_request_id)
        .bind(snapshot.partner_id)
        .bind(&snapshot.organisation_name)
        .bind(&snapshot.branch_name)
        .bind(&snapshot.branch_address)
        .bind(serde_json::to_value(&snapshot.service_names).unwrap_or_default())
        .bind(c.document.document_type.code())
        .bind(made_at)
        .bind(c.pdf.len() as i64)
        .bind(serde_json::to_value(&c.object_digests).unwrap_or_default())
        .execute(pool)
        .await?;
    }
    Ok(())
}

/// What a share request sent, read back from the log: its snapshot, the copies' data and the
/// time they were made. `None` until it was sent.
pub async fn sent_copies(pool: &PgPool, share_request_id: Uuid) -> Result<Option<SentCopies>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let rows: Vec<(serde_json::Value, i64, String)> = sqlx::query_as(
        "SELECT payload, sequence, event_type FROM events WHERE aggregate_type = 'ShareRequest' AND aggregate_id = $1
            AND event_type IN ('ShareRequestOpened', 'ShareRequestSent') ORDER BY sequence",
    )
    .bind(share_request_id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let id = share_request_id.to_string();
    let keys = crate::personal_data::data_keys(&mut conn, &[id.as_str()]).await.map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    let key = keys.get(&id).cloned().unwrap_or(crate::personal_data::DataKey::None);
    let mut payloads = Vec::with_capacity(rows.len());
    for (mut payload, sequence, event_type) in rows {
        crate::personal_data::open(&mut payload, &id, sequence, &event_type, &key).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
        payloads.push(payload);
    }
    let (mut snapshot, mut sent) = (None, None);
    for payload in payloads {
        match serde_json::from_value::<ShareRequestEvent>(payload) {
            Ok(ShareRequestEvent::Opened { snapshot: s, .. }) => snapshot = Some(s),
            Ok(ShareRequestEvent::Sent { copies, sent_at, copy_seed: seed, .. }) => {
                sent = Some((copies, sent_at, copy_seed(share_request_id, seed)))
            }
            _ => {}
        }
    }
    Ok(snapshot.zip(sent).map(|(snapshot, (copies, made_at, copy_seed))| SentCopies { snapshot, copies, made_at, copy_seed }))
}

pub fn copies_message_id(share_request_id: Uuid, domain: &str) -> String {
    format!("<share-{share_request_id}@{domain}>")
}

/// The subject of the letter that carries a share's copies (also what the citizen's draft shows).
pub fn copies_subject(snapshot: &ShareSnapshot) -> String {
    format!("Дія.QR: копії документів — {}", snapshot.service_names.join(", "))
}

fn copies_message(
    settings: &DeliverySettings,
    share_request_id: Uuid,
    snapshot: &ShareSnapshot,
    signed: &[SignedCopy],
    made_at: DateTime<Utc>,
) -> Result<Message, String> {
    let purposes = snapshot.service_names.join(", ");
    let mut body = format!(
        "Добрий день!\n\nГромадянин надіслав вам через Дія.QR копії документів.\n\n\
         Організація: {}\nВідділення: {}, {}\nПослуга (мета обробки): {}\nКопії сформовано: {}\nСтрок зберігання копій: {}\n\nДокументи:\n",
        snapshot.organisation_name,
        snapshot.branch_name,
        snapshot.branch_address,
        purposes,
        kyiv_time(made_at),
        days_uk(snapshot.retention_days)
    );
    for c in signed {
        body.push_str(&format!("  • {} — {}.pdf, підпис {}.p7s\n", c.document.document_type.title_uk(), c.stem, c.stem));
    }
    body.push_str(
        "\nКожну копію засвідчено кваліфікованою електронною печаткою: файл .p7s містить відокремлений підпис CMS \
         до PDF з тією самою назвою.\n\nЦей лист надіслано автоматично; відповідати на нього не потрібно.\n",
    );
    let to: Mailbox = snapshot.recipient_email.as_str().parse().map_err(|e| format!("адреса отримувача: {e}"))?;
    let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(body));
    for c in signed {
        parts = parts
            .singlepart(
                Attachment::new(format!("{}.pdf", c.stem)).body(c.pdf.clone(), ContentType::parse("application/pdf").expect("static")),
            )
            .singlepart(
                Attachment::new(format!("{}.p7s", c.stem))
                    .body(c.p7s.clone(), ContentType::parse("application/pkcs7-signature").expect("static")),
            );
    }
    Message::builder()
        .from(settings.from.clone())
        .to(to)
        .subject(copies_subject(snapshot))
        .message_id(Some(copies_message_id(share_request_id, &settings.message_id_domain)))
        .date(made_at.into())
        .multipart(parts)
        .map_err(|e| e.to_string())
}

fn confirmation_message(
    settings: &DeliverySettings,
    branch_id: Uuid,
    branch_name: &str,
    email: &str,
    code: &str,
) -> Result<Message, String> {
    let to: Mailbox = email.parse().map_err(|e| format!("адреса отримувача: {e}"))?;
    let body = format!(
        "Добрий день!\n\nЦю адресу вказано для відділення «{branch_name}» у Дія.QR. Сюди надходитимуть копії документів, \
         якими громадяни діляться з відділенням.\n\nКод підтвердження: {code}\n\nВведіть його в кабінеті партнера \
         (ідентифікатор відділення {branch_id}). Якщо ви не очікували цього листа, просто проігноруйте його.\n"
    );
    Message::builder()
        .from(settings.from.clone())
        .to(to)
        // A fixed subject: the branch's name is the partner's text, and this letter goes to an
        // address nobody has vouched for yet, so the subject must not carry what a partner wrote.
        .subject("Дія.QR: підтвердіть адресу пошти відділення")
        .message_id(Some(format!("<branch-{branch_id}-{}@{}>", uuid::Uuid::new_v4().simple(), settings.message_id_domain)))
        // Base64 always, so a program reading the mailbox decodes it the one way.
        .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).header(ContentTransferEncoding::Base64).body(body))
        .map_err(|e| e.to_string())
}

/// The letter that tells a partner moderation removed a branch or a service. The subject names
/// no partner-typed text; the body quotes the names and the operator's reason.
fn removal_message(
    settings: &DeliverySettings,
    subject: RemovedSubject,
    id: Uuid,
    names: &[String],
    reason: &str,
    email: &str,
) -> Result<Message, String> {
    let to: Mailbox = email.parse().map_err(|e| format!("адреса отримувача: {e}"))?;
    let quoted = names.iter().map(|n| format!("«{n}»")).collect::<Vec<_>>().join(", ");
    let (what, consequence) = match subject {
        RemovedSubject::Branch => {
            ("відділення", "QR-коди всіх послуг цього відділення більше не діють, і нові послуги в ньому створити не можна")
        }
        RemovedSubject::Service => ("послугу", "її QR-код більше не діє: громадяни, що його зіскановують, бачать, що він недійсний"),
    };
    let body = format!(
        "Добрий день!\n\nМодерація Дія.QR видалила {what} {quoted} (ідентифікатор {id}).\n\nПричина: {reason}\n\n\
         Наслідок: {consequence}. Громадяни бачать цю назву, коли підтверджують передавання документів, тож вона має \
         називати організацію чи мету обробки персональних даних, а не Дію. Створіть у кабінеті партнера нове \
         {what_new} з належною назвою і роздрукуйте новий QR-код.\n",
        what_new = if subject == RemovedSubject::Branch { "відділення" } else { "послугу" },
    );
    let subject_line = match subject {
        RemovedSubject::Branch => "Дія.QR: модерація видалила відділення",
        RemovedSubject::Service => "Дія.QR: модерація видалила послугу",
    };
    Message::builder()
        .from(settings.from.clone())
        .to(to)
        .subject(subject_line)
        .message_id(Some(removal_message_id(id, &settings.message_id_domain)))
        .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).header(ContentTransferEncoding::Base64).body(body))
        .map_err(|e| e.to_string())
}

/// One per removal: a letter re-sent after a crash keeps it, so a mailbox can drop the copy.
pub fn removal_message_id(subject_id: Uuid, domain: &str) -> String {
    format!("<removal-{subject_id}@{domain}>")
}

fn jitter() -> f64 {
    let mut b = [0u8; 2];
    // Falls back to no jitter if the RNG fails: never a reason to stop delivering.
    if openssl::rand::rand_bytes(&mut b).is_err() {
        return 1.0;
    }
    0.5 + f64::from(u16::from_be_bytes(b)) / f64::from(u16::MAX)
}

/// The longest wait between two attempts: a mail server back after an outage is tried again
/// within minutes, not after a doubling that has grown to hours.
pub const MAX_RETRY_DELAY: std::time::Duration = std::time::Duration::from_secs(300);

enum Outcome {
    Accepted(DateTime<Utc>),
    Failed(MailError),
}

impl DeliveryWorker {
    async fn claim(&self) -> Result<Option<ClaimedJob>, DeliveryError> {
        let row = sqlx::query(
            "UPDATE mail_outbox SET leased_until = now() + make_interval(secs => $1), attempts = attempts + 1
              WHERE job_id = (SELECT job_id FROM mail_outbox
                               WHERE status = 'pending' AND next_attempt_at <= now()
                                 AND (leased_until IS NULL OR leased_until < now())
                               ORDER BY next_attempt_at
                               LIMIT 1 FOR UPDATE SKIP LOCKED)
          RETURNING job_id, attempts, payload",
        )
        .bind(self.settings.lease.as_secs_f64())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let job_id: String = row.try_get("job_id")?;
        let payload: serde_json::Value = row.try_get("payload")?;
        let job = serde_json::from_value(payload).map_err(|e| DeliveryError::Decode(job_id.clone(), e))?;
        Ok(Some(ClaimedJob { job_id, attempts: row.try_get("attempts")?, job }))
    }

    /// Builds the message for a job. Rendering and signing run on the blocking pool.
    async fn compose(&self, job: &MailJob) -> Result<(Message, String), String> {
        match job {
            MailJob::EmailConfirmation { branch_id, branch_name, email, nonce } => {
                let code = self.codes.code_for(&branch_id.to_string(), email, nonce);
                let message = confirmation_message(&self.settings, *branch_id, branch_name, email.as_str(), &code)?;
                Ok((message, format!("branch-{branch_id}-{}", &nonce[..nonce.len().min(12)])))
            }
            MailJob::Copies { share_request_id, snapshot, copies, sent_at, copy_seed: seed } => {
                let (seal, id, snap, docs, at) = (self.seal.clone(), *share_request_id, snapshot.clone(), copies.clone(), *sent_at);
                let (base, seed) = (self.settings.public_base_url.clone(), copy_seed(id, *seed));
                let signed = tokio::task::spawn_blocking(move || sign_copies(seal.as_ref(), id, seed, &snap, &docs, at, &base))
                    .await
                    .map_err(|e| format!("render task: {e}"))??;
                record_issued(&self.pool, id, snapshot, &signed, *sent_at).await.map_err(|e| format!("реєстр копій: {e}"))?;
                let message = copies_message(&self.settings, id, snapshot, &signed, *sent_at)?;
                Ok((message, format!("share-{id}")))
            }
            MailJob::Removal { subject, subject_id, names, reason, email } => {
                let message = removal_message(&self.settings, *subject, *subject_id, names, reason, email.as_str())?;
                Ok((message, format!("removal-{subject_id}")))
            }
        }
    }

    /// Delivers one due job, if there is one. Returns whether a job was handled.
    pub async fn run_once(&self) -> Result<bool, DeliveryError> {
        let Some(claimed) = self.claim().await? else { return Ok(false) };
        let outcome = match self.compose(&claimed.job).await {
            Ok((message, stem)) => match self.transport.send(&message, &stem).await {
                Ok(at) => Outcome::Accepted(at),
                Err(e) => Outcome::Failed(e),
            },
            // A message that cannot be built will not build next time either.
            Err(reason) => Outcome::Failed(MailError::Permanent(reason)),
        };
        match outcome {
            Outcome::Accepted(accepted_at) => {
                DeliveryCounts::count(&self.counts.accepted);
                if let MailJob::Copies { share_request_id, .. } = &claimed.job {
                    let message_id = copies_message_id(*share_request_id, &self.settings.message_id_domain);
                    if let Err(e) = self.outcomes.delivered(*share_request_id, accepted_at, &message_id).await {
                        // Leave the job leased: it is retried after the lease, re-sent with the same Message-ID.
                        tracing::error!(job = claimed.job_id, error = e, "delivered, but the outcome was not recorded");
                        return Ok(true);
                    }
                }
                // Accepted: the job's data (a citizen's documents, for copies) has no further use
                // here, so it is cleared; the log keeps the facts, sealed.
                sqlx::query(
                    "UPDATE mail_outbox SET status = 'sent', accepted_at = $2, leased_until = NULL, last_error = NULL,
                         payload = jsonb_build_object('cleared', 'delivered') WHERE job_id = $1",
                )
                .bind(&claimed.job_id)
                .bind(accepted_at)
                .execute(&self.pool)
                .await?;
                tracing::info!(job = claimed.job_id, "mail accepted");
            }
            Outcome::Failed(error) => {
                let reason = error.to_string();
                let out_of_budget = claimed.attempts as u32 >= self.settings.max_attempts;
                if error.is_permanent() || out_of_budget {
                    DeliveryCounts::count(&self.counts.failed);
                    if let MailJob::Copies { share_request_id, .. } = &claimed.job {
                        if let Err(e) = self.outcomes.failed(*share_request_id, Utc::now(), &reason).await {
                            tracing::error!(job = claimed.job_id, error = e, "failure not recorded; will retry");
                            return Ok(true);
                        }
                    }
                    sqlx::query("UPDATE mail_outbox SET status = 'failed', last_error = $2, leased_until = NULL WHERE job_id = $1")
                        .bind(&claimed.job_id)
                        .bind(&reason)
                        .execute(&self.pool)
                        .await?;
                    tracing::warn!(job = claimed.job_id, reason, "mail failed for good");
                } else {
                    let backoff =
                        (self.settings.first_retry.as_secs_f64() * 2f64.powi(claimed.attempts.saturating_sub(1).min(16)) * jitter())
                            .min(MAX_RETRY_DELAY.as_secs_f64());
                    sqlx::query(
                        "UPDATE mail_outbox SET next_attempt_at = now() + make_interval(secs => $2), leased_until = NULL, last_error = $3 WHERE job_id = $1",
                    )
                    .bind(&claimed.job_id)
                    .bind(backoff)
                    .bind(&reason)
                    .execute(&self.pool)
                    .await?;
                    tracing::warn!(job = claimed.job_id, reason, retry_in_secs = backoff, "mail not delivered; will retry");
                }
            }
        }
        Ok(true)
    }

    /// Delivers until `stop` turns true; woken by new jobs, and by a poll for due retries.
    pub fn spawn(self: Arc<Self>, mut wake: watch::Receiver<u64>, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                if *stop.borrow() {
                    return;
                }
                match self.run_once().await {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(e) => tracing::error!(error = %e, "delivery worker"),
                }
                tokio::select! {
                    _ = stop.changed() => {}
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    _ = crate::log::wakeups::next(&mut wake) => {}
                }
            }
        })
    }
}

/// The mail outbox at a glance, across every instance: jobs waiting, jobs given up, and the
/// delivery attempts made so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxFigures {
    pub pending: i64,
    pub failed: i64,
    pub attempts: i64,
}

pub async fn outbox_figures(pool: &PgPool) -> Result<OutboxFigures, sqlx::Error> {
    sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'pending') AS pending,
                count(*) FILTER (WHERE status = 'failed') AS failed,
                coalesce(sum(attempts), 0)::bigint AS attempts
           FROM mail_outbox",
    )
    .fetch_one(pool)
    .await
}
