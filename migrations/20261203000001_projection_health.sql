-- What a projection's operator needs to see: when it last moved, and the error that stopped it.
-- `last_error` is set when a batch fails and cleared by the next batch that succeeds; a failure
-- that is not the database's (an event the projection cannot apply) halts the projection at
-- `failed_global_id` until it is rebuilt or resumed: never a silent skip.
ALTER TABLE projection_checkpoints
    ADD COLUMN updated_at       timestamptz,
    ADD COLUMN last_error       text,
    ADD COLUMN failed_global_id bigint,
    ADD COLUMN failed_at        timestamptz,
    ADD COLUMN halted           boolean NOT NULL DEFAULT false,
    ADD COLUMN rebuilt_at       timestamptz;
