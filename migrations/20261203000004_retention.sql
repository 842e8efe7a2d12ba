-- Retention that really deletes. Each share request's personal data in the event log is sealed
-- under a data key of its own, kept here and not in the log: destroying the key (erasure) leaves
-- every event, its order and every audit proof in place, and its personal fields unreadable.
CREATE TABLE share_data_keys
(
    share_request_id uuid PRIMARY KEY,
    -- NULL once destroyed.
    data_key         bytea,
    created_at       timestamptz NOT NULL DEFAULT now(),
    destroyed_at     timestamptz
);

-- What the cabinet needs to know of retention: how long the service keeps a request's data,
-- when the request ended (sent, declined, expired), and when and why its data went.
ALTER TABLE share_requests_view
    ADD COLUMN retention_days integer NOT NULL DEFAULT 30,
    ADD COLUMN ended_at       timestamptz,
    ADD COLUMN erased_at      timestamptz,
    ADD COLUMN erased_reason  text;
CREATE INDEX share_requests_view_retention ON share_requests_view (ended_at) WHERE erased_at IS NULL AND ended_at IS NOT NULL;

-- An erased scope keeps its row with no salt: a tombstone, so later entries of the scope are
-- committed under throwaway salts instead of a new one that could open them.
ALTER TABLE audit_salts ALTER COLUMN salt DROP NOT NULL;
ALTER TABLE audit_salts ADD COLUMN erased_at timestamptz;
