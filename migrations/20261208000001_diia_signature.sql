-- Diia.Signature as the service holds it: each citizen's signing key, wrapped with AES-256-GCM
-- under a key derived from the service secret (never stored in the clear), the certificate the
-- citizens' CA issued for it, the citizen's code as an Argon2id hash (an online check only, the
-- key's protection is the wrapping) and the lockout after wrong codes.
CREATE TABLE diia_signature_keys (
    rnokpp          text PRIMARY KEY,
    certificate_pem text NOT NULL,
    -- nonce (12 bytes) || ciphertext of the PKCS#8 key || GCM tag (16 bytes)
    wrapped_key     bytea NOT NULL,
    code_hash       text NOT NULL,
    wrong_codes     integer NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    enrolled_at     timestamptz NOT NULL,
    certified_at    timestamptz NOT NULL
);

-- Every attempt to sign, whatever came of it: a security record that survives restarts.
CREATE TABLE diia_signature_attempts (
    id               bigserial PRIMARY KEY,
    rnokpp           text NOT NULL,
    share_request_id uuid,
    at               timestamptz NOT NULL,
    outcome          text NOT NULL CHECK (outcome IN ('signed', 'wrong-code', 'locked-out', 'refused-while-locked')),
    statement_sha256 text
);
CREATE INDEX diia_signature_attempts_by_citizen ON diia_signature_attempts (rnokpp, at);
