-- The audit trail: an append-only sequence of entries, the leaves of an RFC 9162 Merkle tree
-- (../shared/AUDIT-LOG.md). Entries from the event log are appended by the `audit_trail`
-- follower; accesses (searches, downloads, exports, verifications) by the use cases themselves.
-- Both take the one row of `audit_head`, so indexes are dense and in one order.
CREATE TABLE audit_head
(
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    size     bigint  NOT NULL DEFAULT 0
);
INSERT INTO audit_head DEFAULT VALUES;

CREATE TABLE audit_entries
(
    idx              bigint PRIMARY KEY,
    -- The leaf's bytes: the entry's RFC 8785 canonical JSON, exactly as hashed.
    entry            text        NOT NULL,
    leaf_hash        bytea       NOT NULL,
    kind             text        NOT NULL,
    partner_id       uuid,
    share_request_id uuid,
    -- The event the entry records (its global id), for the evidence an export carries.
    source_event     bigint,
    recorded_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX audit_entries_partner ON audit_entries (partner_id, idx);
CREATE INDEX audit_entries_time ON audit_entries (recorded_at, idx);
CREATE INDEX audit_entries_share ON audit_entries (share_request_id, idx);

-- Every complete subtree's hash (2^level leaves from idx * 2^level), stored as it completes:
-- proofs and roots read O(log n) of them instead of every leaf.
CREATE TABLE audit_nodes
(
    level smallint NOT NULL,
    idx   bigint   NOT NULL,
    hash  bytea    NOT NULL,
    PRIMARY KEY (level, idx)
);

-- Signed checkpoints: the C2SP signed note, and the same body sealed as detached CMS.
CREATE TABLE audit_checkpoints
(
    size      bigint PRIMARY KEY,
    root      bytea       NOT NULL,
    note      text        NOT NULL,
    cms       bytea       NOT NULL,
    signed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- What the trail may never change, whoever asks.
CREATE FUNCTION audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END $$;
CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION audit_is_append_only();
CREATE TRIGGER audit_nodes_append_only BEFORE UPDATE OR DELETE ON audit_nodes
    FOR EACH ROW EXECUTE FUNCTION audit_is_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_is_append_only();

-- The secrets entries commit personal values with, one per scope (a share request, a partner):
-- kept outside the trail, and deleted when that scope's personal data is erased, which leaves
-- every entry and proof intact but the commitments unopenable.
CREATE TABLE audit_salts
(
    scope      text PRIMARY KEY,
    salt       bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Which entries concern which citizen, by a keyed digest of the РНОКПП (never the number, never
-- in an entry): what an export filtered by citizen reads. Erased with the share's data.
CREATE TABLE audit_citizen_entries
(
    citizen_digest bytea  NOT NULL,
    idx            bigint NOT NULL,
    scope          text   NOT NULL,
    PRIMARY KEY (citizen_digest, idx)
);
CREATE INDEX audit_citizen_entries_scope ON audit_citizen_entries (scope);

-- Whose each aggregate is, as the trail files its entries: the partner, and for a share request
-- the citizen's keyed digest (erased with the share's data).
CREATE TABLE audit_owners
(
    aggregate_id   text PRIMARY KEY,
    partner_id     uuid,
    citizen_digest bytea
);
CREATE INDEX audit_owners_partner ON audit_owners (partner_id);
CREATE INDEX audit_owners_citizen ON audit_owners (citizen_digest) WHERE citizen_digest IS NOT NULL;
