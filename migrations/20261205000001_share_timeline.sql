-- Each status a share request reached, with the time its event says and, on delivery, the
-- Message-ID the mail server accepted: the status timeline of the cabinet's share details.
-- Built from the log by the `share_timeline` projection; no personal data.
CREATE TABLE share_timeline_view
(
    share_request_id uuid        NOT NULL,
    sequence         bigint      NOT NULL,
    partner_id       uuid        NOT NULL,
    status           text        NOT NULL,
    at               timestamptz NOT NULL,
    message_id       text,
    PRIMARY KEY (share_request_id, sequence)
);
CREATE INDEX share_timeline_view_failures ON share_timeline_view (partner_id, at) WHERE status = 'delivery_failed';
