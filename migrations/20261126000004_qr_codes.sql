-- Short codes printed beside each QR, for typing the short link; built from ServiceQrIssued.
CREATE TABLE qr_short_codes_view
(
    short_code text PRIMARY KEY,
    service_id uuid    NOT NULL,
    qr_version integer NOT NULL
);

-- Refused scans, counted by service and reason: forged, rotated and revoked codes in the wild are
-- worth a partner's attention. An operational counter, not part of the event log (a refused scan
-- changes no aggregate). The nil UUID stands for tokens that name no service.
CREATE TABLE qr_scan_refusals
(
    service_id      uuid        NOT NULL,
    reason          text        NOT NULL,
    refusals        bigint      NOT NULL DEFAULT 0,
    last_refused_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service_id, reason)
);
