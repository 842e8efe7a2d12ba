-- Mail to send: filled by the outbox reactor in the same transaction as its checkpoint, drained by
-- the delivery worker. A job is leased, not locked, while it is sent, so no transaction stays
-- open across an SMTP exchange (an open transaction would hold back every log reader).
CREATE TABLE mail_outbox
(
    job_id          text PRIMARY KEY,            -- deterministic: one job per event
    kind            text        NOT NULL,        -- 'email_confirmation' | 'copies'
    aggregate_id    text        NOT NULL,
    payload         jsonb       NOT NULL,
    status          text        NOT NULL DEFAULT 'pending', -- pending | sent | failed
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    leased_until    timestamptz,
    last_error      text,
    accepted_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE status = 'pending';

CREATE FUNCTION mail_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('diia_qr_mail', '');
    RETURN NULL;
END $$;

CREATE TRIGGER mail_outbox_notify
    AFTER INSERT ON mail_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION mail_outbox_notify();
