-- КЕП sign-in: one-time challenges (the exact text the head signs), used up by the first
-- sign-in that passes; and sessions ended before their expiry (sign-out), refused on every
-- instance. Rows are small and swept: challenges a day after they expired.
CREATE TABLE kep_challenges
(
    challenge_id uuid PRIMARY KEY,
    text         text        NOT NULL,
    issued_at    timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);
CREATE INDEX kep_challenges_expiry ON kep_challenges (expires_at);

CREATE TABLE ended_sessions
(
    session_id uuid PRIMARY KEY,
    ended_at   timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
