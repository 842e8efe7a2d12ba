//! How followers and delivery workers learn, without polling, that there is work: appends to the
//! log and letters in the outbox are announced by the process that made them, after its commit.
//!
//! In the process, an announcement is a bump of a `watch` channel, at once. To the other
//! instances on the same database it is a NOTIFY, sent by one task at most every
//! [`ANNOUNCE_GAP`] in a transaction of its own, and heard through the one LISTEN connection each
//! process holds (ADR 0009, ADR 0010).
//!
//! Why not a trigger on the log: a transaction that notifies holds PostgreSQL's one notification
//! lock from its commit until the commit is flushed, so every command's commit waited for every
//! other's fsync in turn, and group commit never happened: pgbench's one-row insert fell from
//! 15.2k to 4.2k transactions a second with a `pg_notify` beside it. A writer that is not this
//! engine (SQL by hand) is still seen, at the waiters' poll.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::{watch, Notify};

/// The channel appends to the log are announced on.
pub const EVENTS_CHANNEL: &str = "diia_qr_events";
/// The channel new letters in the outbox are announced on.
pub const MAIL_CHANNEL: &str = "diia_qr_mail";

/// The shortest time between two NOTIFYs of one process: under load, one announcement stands
/// for every commit of the last few milliseconds (followers coalesce 10 ms anyway).
pub const ANNOUNCE_GAP: Duration = Duration::from_millis(5);

/// What a waiter subscribes to: a count that moves at each announcement (and after the
/// listener reconnected, when some may have been missed).
pub struct Wakeups {
    events: watch::Sender<u64>,
    mail: watch::Sender<u64>,
    /// Sent as the NOTIFY's payload, so this process does not wake its waiters a second time
    /// when it hears its own announcement.
    instance: String,
    events_unannounced: AtomicBool,
    mail_unannounced: AtomicBool,
    announce: Notify,
}

impl Default for Wakeups {
    fn default() -> Self {
        Self {
            events: watch::Sender::new(0),
            mail: watch::Sender::new(0),
            instance: uuid::Uuid::new_v4().simple().to_string(),
            events_unannounced: AtomicBool::new(false),
            mail_unannounced: AtomicBool::new(false),
            announce: Notify::new(),
        }
    }
}

impl Wakeups {
    /// New appends to the log.
    pub fn events(&self) -> watch::Receiver<u64> {
        self.events.subscribe()
    }

    /// New letters in the outbox.
    pub fn mail(&self) -> watch::Receiver<u64> {
        self.mail.subscribe()
    }

    /// This process committed events: wakes its followers now, and the other instances'
    /// with the next NOTIFY.
    pub fn events_appended(&self) {
        bump(&self.events);
        self.events_unannounced.store(true, Ordering::Release);
        self.announce.notify_one();
    }

    /// This process committed letters to the outbox.
    pub fn mail_enqueued(&self) {
        bump(&self.mail);
        self.mail_unannounced.store(true, Ordering::Release);
        self.announce.notify_one();
    }

    fn wake_all(&self) {
        bump(&self.events);
        bump(&self.mail);
    }

    /// Listens and announces until `stop` turns true. Without a connection the waiters still
    /// poll; a lost connection is opened again, and everyone is woken, since notifications may
    /// have been lost. What is still unannounced at the stop is announced before returning.
    pub fn spawn(self: std::sync::Arc<Self>, pool: PgPool, stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            tokio::join!(self.listen_until(&pool, stop.clone()), self.announce_until(&pool, stop));
        })
    }

    async fn listen_until(&self, pool: &PgPool, mut stop: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                error = self.listen(pool) => {
                    tracing::warn!(%error, "no LISTEN connection; followers and mail poll meanwhile");
                }
            }
            tokio::select! {
                _ = stop.changed() => return,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// Passes notifications on until the connection fails; answers why it did.
    async fn listen(&self, pool: &PgPool) -> sqlx::Error {
        let mut listener = match PgListener::connect_with(pool).await {
            Ok(listener) => listener,
            Err(e) => return e,
        };
        if let Err(e) = listener.listen_all([EVENTS_CHANNEL, MAIL_CHANNEL]).await {
            return e;
        }
        self.wake_all();
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) if notification.payload() == self.instance => {}
                Ok(Some(notification)) if notification.channel() == MAIL_CHANNEL => bump(&self.mail),
                Ok(Some(_)) => bump(&self.events),
                // The connection was lost; the next call connects again.
                Ok(None) => self.wake_all(),
                Err(e) => return e,
            }
        }
    }

    async fn announce_until(&self, pool: &PgPool, mut stop: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = stop.changed() => {
                    self.announce_pending(pool).await;
                    return;
                }
                _ = self.announce.notified() => {}
            }
            self.announce_pending(pool).await;
            tokio::time::sleep(ANNOUNCE_GAP).await;
        }
    }

    /// One NOTIFY per channel with something unannounced, in one statement. The transaction
    /// does not wait for its flush: a notification lost in a crash is covered by the poll, and
    /// waiting would hold the notification lock through an fsync.
    async fn announce_pending(&self, pool: &PgPool) {
        let events = self.events_unannounced.swap(false, Ordering::AcqRel);
        let mail = self.mail_unannounced.swap(false, Ordering::AcqRel);
        if !events && !mail {
            return;
        }
        let sent = sqlx::query(
            "SELECT set_config('synchronous_commit', 'off', true),
                    CASE WHEN $1 THEN pg_notify($3, $5) END,
                    CASE WHEN $2 THEN pg_notify($4, $5) END",
        )
        .bind(events)
        .bind(mail)
        .bind(EVENTS_CHANNEL)
        .bind(MAIL_CHANNEL)
        .bind(&self.instance)
        .execute(pool)
        .await;
        if let Err(error) = sent {
            // The other instances find the work at their poll.
            tracing::debug!(%error, "announcement to the other instances not sent");
        }
    }
}

fn bump(sender: &watch::Sender<u64>) {
    sender.send_modify(|n| *n = n.wrapping_add(1));
}

/// Waits for the next wake-up; never, once the sender is gone (the waiter then polls).
pub async fn next(wake: &mut watch::Receiver<u64>) {
    if wake.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}
