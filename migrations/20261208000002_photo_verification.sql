-- Every check of a liveness provider's assertion, whatever came of it: "verified" (with the
-- assertion's id, which the PhotoVerified event also keeps) or the refusal's code. Filed by
-- share request only, so erasing a request's personal data leaves nothing here that names the citizen.
CREATE TABLE photo_verification_attempts (
    id               bigserial PRIMARY KEY,
    share_request_id uuid NOT NULL,
    at               timestamptz NOT NULL,
    outcome          text NOT NULL,
    assertion_id     text
);
CREATE INDEX photo_verification_attempts_by_request ON photo_verification_attempts (share_request_id, at);
