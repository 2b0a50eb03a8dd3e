-- Customer texts: the outbox's fifth kind, CUSTOMER_SMS (sent through Amazon SNS by the
-- relay), and the numbers that asked for no more texts.
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('PARTNER_WEBHOOK', 'CATERVALLEY_STATUS', 'CUSTOMER_EMAIL', 'DRIVER_PUSH', 'CUSTOMER_SMS'));
ALTER TABLE outbox DROP CONSTRAINT outbox_partner_kinds;
ALTER TABLE outbox ADD CONSTRAINT outbox_partner_kinds
    CHECK ((kind IN ('CUSTOMER_EMAIL', 'DRIVER_PUSH', 'CUSTOMER_SMS')) = (partner_id IS NULL));

-- A number on this list gets no text from us. REPLY: its owner texted a stop keyword
-- (STOP, UNSUBSCRIBE, ...) to our number; CARRIER: SNS answered that the number has
-- opted out when we were about to text it. A start keyword (START, UNSTOP) removes it.
-- Kept when an account is purged: the request not to be texted outlives the account.
CREATE TABLE sms_opt_outs (
    phone              text PRIMARY KEY CHECK (phone ~ '^\+[1-9][0-9]{7,14}$'),
    source             text NOT NULL CHECK (source IN ('REPLY', 'CARRIER')),
    -- The word the recipient replied with (REPLY only).
    keyword            text CHECK ((source = 'REPLY') = (keyword IS NOT NULL)),
    inbound_message_id text,
    opted_out_at       timestamptz NOT NULL DEFAULT now()
);

-- The retention job's two deletes: attempts by age (outbox_attempts_time_idx), then
-- settled messages with none left.
CREATE INDEX outbox_settled_idx ON outbox (created_at) WHERE status IN ('DELIVERED', 'SKIPPED');
