//! One LISTEN connection per process for the notifications of the event log and the mail
//! outbox, fanned out in memory to the followers and delivery workers that wait on them.
//!
//! Every listening connection costs PostgreSQL a signal, a wake-up and a message per notifying
//! commit: with a connection per follower and per worker (ten), a scan's commit woke ten
//! backends. One listener, read without pause so its backend never blocks writing to it, wakes
//! one (ADR 0009).

use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::watch;

/// The channel the events' insert trigger notifies.
pub const EVENTS_CHANNEL: &str = "diia_qr_events";
/// The channel the outbox's insert trigger notifies.
pub const MAIL_CHANNEL: &str = "diia_qr_mail";

/// What a waiter subscribes to: a count that moves at each notification (and after the
/// listener reconnected, when some may have been missed).
pub struct Wakeups {
    events: watch::Sender<u64>,
    mail: watch::Sender<u64>,
}

impl Default for Wakeups {
    fn default() -> Self {
        Self { events: watch::Sender::new(0), mail: watch::Sender::new(0) }
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

    fn wake(&self, channel: &str) {
        let sender = if channel == MAIL_CHANNEL { &self.mail } else { &self.events };
        sender.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn wake_all(&self) {
        self.wake(EVENTS_CHANNEL);
        self.wake(MAIL_CHANNEL);
    }

    /// Listens until `stop` turns true. Without a connection the waiters still poll; a lost
    /// connection is opened again, and everyone is woken, since notifications may have been lost.
    pub fn spawn(self: std::sync::Arc<Self>, pool: PgPool, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stop.changed() => return,
                    error = self.listen(&pool) => {
                        tracing::warn!(%error, "no LISTEN connection; followers and mail poll meanwhile");
                    }
                }
                tokio::select! {
                    _ = stop.changed() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        })
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
                Ok(Some(notification)) => self.wake(notification.channel()),
                // The connection was lost; the next call connects again.
                Ok(None) => self.wake_all(),
                Err(e) => return e,
            }
        }
    }
}

/// Waits for the next wake-up; never, once the sender is gone (the waiter then polls).
pub async fn next(wake: &mut watch::Receiver<u64>) {
    if wake.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}
