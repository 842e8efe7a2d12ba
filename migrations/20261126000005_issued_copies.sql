-- Every copy the delivery worker rendered and sealed, by the SHA-256 of its PDF: what the
-- verification service looks up to say when and for whom a presented copy was made. A copy
-- re-rendered for a re-delivery is recorded again under its new digest, with the same copy id.
CREATE TABLE issued_copies
(
    pdf_sha256        text PRIMARY KEY,
    copy_id           uuid        NOT NULL,
    share_request_id  uuid        NOT NULL,
    partner_id        uuid        NOT NULL,
    organisation_name text        NOT NULL,
    branch_name       text        NOT NULL,
    branch_address    text        NOT NULL,
    purposes          jsonb       NOT NULL,
    document_type     text        NOT NULL,
    made_at           timestamptz NOT NULL,
    recorded_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX issued_copies_copy ON issued_copies (copy_id);
