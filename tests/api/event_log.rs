//! The global log: commit-safe reading, and projections that resume from a durable checkpoint.

use async_trait::async_trait;
use diia_qr_projections::log::{catch_up, run_batch, Projection, ProjectionError};
use diia_qr_projections::log::{read_after, LogPosition, StoredEvent};
use std::time::Duration;

use diia_qr_tests::{eventually, fresh_database};
use sqlx::{Connection, PgConnection, PgPool};

async fn insert_event(conn: &mut PgConnection, aggregate_id: &str) {
    sqlx::query("INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata) VALUES ('Test', $1, 1, 'Tested', '1.0', '{}', '{}')")
        .bind(aggregate_id)
        .execute(conn)
        .await
        .unwrap();
}

async fn ids_after(pool: &PgPool, after: LogPosition) -> Vec<String> {
    let mut conn = pool.acquire().await.unwrap();
    read_after(&mut conn, after, 100).await.unwrap().into_iter().map(|e| e.aggregate_id).collect()
}

#[tokio::test]
async fn a_reader_never_skips_an_event_whose_transaction_commits_late() {
    let (url, pool) = fresh_database().await;
    let mut early = PgConnection::connect(&url).await.unwrap();
    let mut late = PgConnection::connect(&url).await.unwrap();

    // "first" takes the lower global id but commits after "second".
    sqlx::query("BEGIN").execute(&mut early).await.unwrap();
    insert_event(&mut early, "first").await;
    sqlx::query("BEGIN").execute(&mut late).await.unwrap();
    insert_event(&mut late, "second").await;
    sqlx::query("COMMIT").execute(&mut late).await.unwrap();

    // A reader that trusted the serial alone would now see "second" and move past "first".
    let naive: Vec<String> =
        sqlx::query_scalar("SELECT aggregate_id FROM events WHERE global_id > 0 ORDER BY global_id").fetch_all(&pool).await.unwrap();
    assert_eq!(naive, ["second"], "the hazard is real");
    // Ours holds "second" back while "first"'s transaction is open...
    assert!(ids_after(&pool, LogPosition::default()).await.is_empty());
    sqlx::query("COMMIT").execute(&mut early).await.unwrap();
    // ...and then returns both, in order. (Other tests share the cluster, and their open
    // transactions hold every reader back a moment too: hence waiting, not asserting at once.)
    let both = eventually(Duration::from_secs(20), "both events", || async {
        let ids = ids_after(&pool, LogPosition::default()).await;
        (ids.len() == 2).then_some(ids)
    })
    .await;
    assert_eq!(both, ["first", "second"]);
}

#[tokio::test]
async fn an_event_committed_after_a_later_position_was_seen_is_still_delivered() {
    let (url, pool) = fresh_database().await;
    let mut slow = PgConnection::connect(&url).await.unwrap();
    let mut fast = PgConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut slow).await.unwrap();
    sqlx::query("SELECT pg_current_xact_id()").execute(&mut slow).await.unwrap(); // takes its xid now
    insert_event(&mut fast, "fast").await; // autocommit, later xid
    let seen = Recorder::default();
    create_seen_table(&pool).await;
    catch_up(&pool, &seen).await.unwrap();
    insert_event(&mut slow, "slow").await; // a higher global id, the older transaction
    sqlx::query("COMMIT").execute(&mut slow).await.unwrap();
    let applied = eventually(Duration::from_secs(20), "both events applied", || async {
        catch_up(&pool, &seen).await.unwrap();
        let applied: Vec<String> = sqlx::query_scalar("SELECT aggregate_id FROM seen ORDER BY n").fetch_all(&pool).await.unwrap();
        (applied.len() >= 2).then_some(applied)
    })
    .await;
    assert_eq!(applied, ["slow", "fast"], "both applied once, in transaction order");
}

#[derive(Default)]
struct Recorder {
    fail_on: Option<&'static str>,
}

async fn create_seen_table(pool: &PgPool) {
    sqlx::query("CREATE TABLE IF NOT EXISTS seen (n bigserial, aggregate_id text)").execute(pool).await.unwrap();
}

#[async_trait]
impl Projection for Recorder {
    fn name(&self) -> &'static str {
        "test_recorder"
    }
    async fn apply(&self, conn: &mut PgConnection, event: &StoredEvent) -> Result<(), ProjectionError> {
        sqlx::query("INSERT INTO seen (aggregate_id) VALUES ($1)").bind(&event.aggregate_id).execute(&mut *conn).await?;
        if self.fail_on == Some(event.aggregate_id.as_str()) {
            // As if the process died mid-batch: the transaction never commits.
            return Err(ProjectionError::Database(sqlx::Error::Protocol("simulated crash".into())));
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_projection_that_dies_mid_batch_resumes_where_its_last_commit_left_it() {
    let (url, pool) = fresh_database().await;
    create_seen_table(&pool).await;
    let mut conn = PgConnection::connect(&url).await.unwrap();
    for id in ["a", "b", "c"] {
        insert_event(&mut conn, id).await;
    }
    let crashing = Recorder { fail_on: Some("b") };
    // Ok(0) while other tests' transactions hold the log back; then the crash.
    eventually(Duration::from_secs(20), "the crashing batch", || async { run_batch(&pool, &crashing).await.err() }).await;
    // Events before the failing one may have been applied in an earlier batch (other tests'
    // transactions can split the log into smaller batches); nothing of the failed batch was.
    let seen: Vec<String> = sqlx::query_scalar("SELECT aggregate_id FROM seen ORDER BY n").fetch_all(&pool).await.unwrap();
    assert!(seen.is_empty() || seen == ["a"], "the view and the checkpoint move together, or not at all: {seen:?}");

    let healthy = Recorder::default();
    let seen_all = |n: usize| {
        let (pool, healthy) = (&pool, &healthy);
        eventually(Duration::from_secs(20), "the projection to catch up", move || async move {
            catch_up(pool, healthy).await.unwrap();
            let applied: Vec<String> = sqlx::query_scalar("SELECT aggregate_id FROM seen ORDER BY n").fetch_all(pool).await.unwrap();
            (applied.len() >= n).then_some(applied)
        })
    };
    assert_eq!(seen_all(3).await, ["a", "b", "c"]);
    insert_event(&mut conn, "d").await;
    assert_eq!(seen_all(4).await, ["a", "b", "c", "d"], "each event once, only what is new applied");
}

#[tokio::test]
async fn the_log_is_append_only() {
    let (_, pool) = fresh_database().await;
    let mut conn = pool.acquire().await.unwrap();
    insert_event(&mut conn, "x").await;
    let update = sqlx::query("UPDATE events SET payload = '{\"forged\": true}'").execute(&pool).await;
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = sqlx::query("DELETE FROM events").execute(&pool).await;
    assert!(delete.is_err());
}

/// Appends are announced by the process that made them, after its commit (ADR 0010): another
/// instance on the same database hears it on its listener, on the right channel.
#[tokio::test]
async fn an_append_announced_by_one_instance_wakes_the_followers_of_another() {
    use diia_qr_projections::log::wakeups::Wakeups;
    use std::sync::Arc;

    let (_url, pool) = fresh_database().await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let (here, there) = (Arc::new(Wakeups::default()), Arc::new(Wakeups::default()));
    let (mut events_there, mut mail_there) = (there.events(), there.mail());
    let tasks = [here.clone().spawn(pool.clone(), stopped.clone()), there.clone().spawn(pool.clone(), stopped)];
    // A listener that connects wakes its own waiters (it may have missed something): then it listens.
    let within = Duration::from_secs(10);
    tokio::time::timeout(within, events_there.changed()).await.expect("the listener connected").unwrap();
    mail_there.borrow_and_update();

    here.events_appended();
    tokio::time::timeout(within, events_there.changed()).await.expect("the other instance was woken").unwrap();
    assert!(!mail_there.has_changed().unwrap(), "an append wakes followers, not the delivery workers");

    here.mail_enqueued();
    tokio::time::timeout(within, mail_there.changed()).await.expect("the other instance's delivery workers were woken").unwrap();

    stop.send(true).unwrap();
    for task in tasks {
        task.await.unwrap();
    }
}
