-- Read models of the partner cabinet and the citizen's history, built from the log.
CREATE TABLE partners_view
(
    partner_id        uuid PRIMARY KEY,
    organisation_name text        NOT NULL,
    registry_code     text        NOT NULL,
    status            text        NOT NULL,
    registered_at     timestamptz NOT NULL
);

CREATE TABLE branches_view
(
    branch_id       uuid PRIMARY KEY,
    partner_id      uuid    NOT NULL,
    name            text    NOT NULL,
    address         text    NOT NULL,
    email           text    NOT NULL,
    email_confirmed boolean NOT NULL
);
CREATE INDEX branches_view_partner ON branches_view (partner_id);

CREATE TABLE services_view
(
    service_id     uuid PRIMARY KEY,
    partner_id     uuid    NOT NULL,
    branch_id      uuid    NOT NULL,
    names          jsonb   NOT NULL,
    documents      jsonb   NOT NULL,
    retention_days integer NOT NULL,
    qr_version     integer NOT NULL DEFAULT 0,
    qr_active      boolean NOT NULL DEFAULT false,
    active         boolean NOT NULL DEFAULT true
);
CREATE INDEX services_view_partner ON services_view (partner_id);

CREATE TABLE share_requests_view
(
    share_request_id  uuid PRIMARY KEY,
    partner_id        uuid        NOT NULL,
    branch_id         uuid        NOT NULL,
    service_id        uuid        NOT NULL,
    citizen           text        NOT NULL,
    organisation_name text        NOT NULL,
    branch_address    text        NOT NULL,
    purposes          jsonb       NOT NULL,
    documents         jsonb       NOT NULL,
    status            text        NOT NULL,
    opened_at         timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL,
    sent_at           timestamptz,
    delivered_at      timestamptz,
    failure_reason    text
);
CREATE INDEX share_requests_view_partner ON share_requests_view (partner_id, opened_at DESC);
CREATE INDEX share_requests_view_citizen ON share_requests_view (citizen, opened_at DESC);
