-- Suspending a partner ends every session of its head issued before: checked on every request,
-- on every instance (api/src/app/sign_in.rs), beside the signed-out sessions of ended_sessions.
CREATE TABLE partner_sessions_ended
(
    partner_id uuid PRIMARY KEY,
    ended_at   timestamptz NOT NULL
);
