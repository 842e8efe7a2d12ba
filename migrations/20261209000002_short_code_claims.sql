-- Each short code names one QR: claimed when the QR is issued, before its event, so two
-- services can never print the same code (a clash takes the token's next candidate code).
CREATE TABLE qr_short_code_claims
(
    short_code text PRIMARY KEY,
    service_id uuid        NOT NULL,
    qr_version integer     NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO qr_short_code_claims (short_code, service_id, qr_version)
SELECT short_code, service_id, qr_version FROM qr_short_codes_view ON CONFLICT DO NOTHING;
