-- Confirmation letters each partner had sent per Kyiv day (branch creations and mailbox
-- changes): reserved before the command, so a partner cannot use the service as a mail relay.
-- Operational, like qr_scan_refusals: no event, and a rebuild leaves it as it is.
CREATE TABLE partner_letter_days
(
    partner_id uuid    NOT NULL,
    day        date    NOT NULL,
    letters    integer NOT NULL,
    PRIMARY KEY (partner_id, day)
);
