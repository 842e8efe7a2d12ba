-- The search index of received documents (projections/src/views/search): one row per copy a
-- partner received. It holds what finding a copy needs and no more: the holder's name as shown,
-- a folded and transliterated search text of it, the document's number and the share's РНОКПП.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The planner prices pg_trgm's word similarity like an addition (cost 1), so for a partner with a
-- few thousand copies it filters them all by similarity (33 ms over 1,650 rows, measured) rather
-- than ask the trigram index (2 ms). Its real cost, relative to the built-ins, is about 100.
-- Only the owner of the extension's functions may say so; elsewhere the search is slower, not wrong.
-- (pg_dump does not keep settings of an extension's functions: after a restore, run this again.)
DO
$$
    BEGIN
        ALTER FUNCTION word_similarity_op(text, text) COST 100;
        ALTER FUNCTION word_similarity(text, text) COST 100;
    EXCEPTION
        WHEN insufficient_privilege THEN
            RAISE NOTICE 'pg_trgm''s word similarity keeps its default cost: the name search may not use its index';
    END
$$;

-- What a scan's snapshot says about a share until its copies arrive (no personal data); the row
-- goes when the share is sent, declined or expires.
CREATE TABLE search_pending_shares
(
    share_request_id uuid PRIMARY KEY,
    partner_id       uuid   NOT NULL,
    branch_id        uuid   NOT NULL,
    branch_name      text   NOT NULL,
    service_id       uuid   NOT NULL,
    service_names    text[] NOT NULL
);

CREATE TABLE search_documents
(
    share_request_id    uuid        NOT NULL,
    copy_index          integer     NOT NULL,
    partner_id          uuid        NOT NULL,
    branch_id           uuid        NOT NULL,
    branch_name         text        NOT NULL,
    service_id          uuid        NOT NULL,
    service_names       text[]      NOT NULL,
    document_type       text        NOT NULL,
    holder_name         text        NOT NULL,
    -- Folded words of the names on the copy, then their KMU-55 transliterations.
    search_text         text        NOT NULL,
    -- Computed here, so a rebuild (CREATE TABLE … LIKE … INCLUDING ALL) keeps it.
    search_vector       tsvector GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED,
    document_number     text,
    -- Capitals, letters and digits only, Cyrillic look-alikes read as Latin.
    document_number_key text,
    rnokpp              text,
    received_at         timestamptz NOT NULL,
    delivery_state      text        NOT NULL CHECK (delivery_state IN ('sent', 'delivered', 'failed')),
    PRIMARY KEY (share_request_id, copy_index)
);
-- The keyset of the date order (and the partner scope of every query).
CREATE INDEX search_documents_keyset ON search_documents (partner_id, received_at DESC, share_request_id DESC, copy_index);
CREATE INDEX search_documents_trigrams ON search_documents USING gin (search_text gin_trgm_ops);
CREATE INDEX search_documents_words ON search_documents USING gin (search_vector);
CREATE INDEX search_documents_number ON search_documents (partner_id, document_number_key);
CREATE INDEX search_documents_rnokpp ON search_documents (partner_id, rnokpp);
