-- The event store: postgres-es's own table, plus three columns it never names in its INSERT, so
-- their defaults fill them: a global id, the writing transaction's id and the time of recording.
-- Readers follow the log ordered by (tx_id, global_id) and stop below the oldest transaction
-- still running (pg_snapshot_xmin), so an event whose transaction commits late is never skipped.
CREATE TABLE events
(
    aggregate_type text                         NOT NULL,
    aggregate_id   text                         NOT NULL,
    sequence       bigint CHECK (sequence >= 0) NOT NULL,
    event_type     text                         NOT NULL,
    event_version  text                         NOT NULL,
    payload        json                         NOT NULL,
    metadata       json                         NOT NULL,
    global_id      bigserial                    NOT NULL UNIQUE,
    tx_id          xid8                         NOT NULL DEFAULT pg_current_xact_id(),
    recorded_at    timestamptz                  NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);

CREATE INDEX events_log_order ON events (tx_id, global_id);

-- The log is append-only: no update or delete, whoever asks.
CREATE FUNCTION events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only: % refused', TG_OP;
END $$;

CREATE TRIGGER events_append_only
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_are_append_only();

-- Wakes log followers at once instead of at their next poll.
CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('diia_qr_events', '');
    RETURN NULL;
END $$;

CREATE TRIGGER events_notify
    AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_notify();

-- Snapshots are unused (postgres-es 0.5.0's snapshot store applies events twice); postgres-es
-- still expects the table to exist.
CREATE TABLE snapshots
(
    aggregate_type   text                                 NOT NULL,
    aggregate_id     text                                 NOT NULL,
    last_sequence    bigint CHECK (last_sequence >= 0)    NOT NULL,
    current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL,
    payload          json                                 NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)
);

-- Each projection or reactor's position in the log, updated in the same transaction as its view.
CREATE TABLE projection_checkpoints
(
    projection text   PRIMARY KEY,
    tx_id      xid8   NOT NULL DEFAULT '0',
    global_id  bigint NOT NULL DEFAULT 0
);
