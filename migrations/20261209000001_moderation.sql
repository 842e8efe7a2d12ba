-- Moderation of the names citizens read (domain/src/moderation.rs): each branch's and service's
-- current name revision, where its review stands, and the operator's reason for a removal.
-- Names serve while pending; the operator's queue is the pending rows, oldest first.
ALTER TABLE branches_view
    ADD COLUMN name_revision     integer NOT NULL DEFAULT 1,
    ADD COLUMN moderation        text    NOT NULL DEFAULT 'pending',
    ADD COLUMN moderation_reason text,
    ADD COLUMN name_submitted_at timestamptz,
    ADD COLUMN moderated_at      timestamptz;
ALTER TABLE services_view
    ADD COLUMN name_revision     integer NOT NULL DEFAULT 1,
    ADD COLUMN moderation        text    NOT NULL DEFAULT 'pending',
    ADD COLUMN moderation_reason text,
    ADD COLUMN name_submitted_at timestamptz,
    ADD COLUMN moderated_at      timestamptz;
CREATE INDEX branches_view_moderation ON branches_view (moderation, name_submitted_at);
CREATE INDEX services_view_moderation ON services_view (moderation, name_submitted_at);

-- Rows made before: no name was ever renamed or reviewed, so each is revision 1, pending since
-- its creation, as a replay of the log would make it.
UPDATE branches_view v SET name_submitted_at = e.recorded_at
  FROM events e WHERE e.aggregate_type = 'Branch' AND e.aggregate_id = v.branch_id::text AND e.sequence = 1;
UPDATE services_view v SET name_submitted_at = e.recorded_at
  FROM events e WHERE e.aggregate_type = 'Service' AND e.aggregate_id = v.service_id::text AND e.sequence = 1;

-- A КЕП challenge is for one door: the partner cabinet or the operators' desk.
ALTER TABLE kep_challenges ADD COLUMN audience text NOT NULL DEFAULT 'partner';
