-- Appends and new letters are announced by the engine after its commit (projections'
-- log/wakeups.rs, ADR 0010), no longer by a NOTIFY in the writing transaction: a notifying
-- transaction holds PostgreSQL's one notification lock until its commit is flushed, so every
-- command's commit waited for every other's in turn.
DROP TRIGGER events_notify ON events;
DROP FUNCTION events_notify();
DROP TRIGGER mail_outbox_notify ON mail_outbox;
DROP FUNCTION mail_outbox_notify();
