-- What verification needs to say *what* changed in a presented copy that claims to be an issued
-- one: the issued file's length, and a short digest (16 hex digits of SHA-256) of each of its
-- objects, as `[[object number, digest], …]`. Rows recorded before this migration have neither:
-- their copies still verify, only without naming the changed objects.
ALTER TABLE issued_copies
    ADD COLUMN pdf_length     bigint,
    ADD COLUMN object_digests jsonb;
