-- Side effects of status changes (partner webhooks, CaterValley's status call), written
-- in the same transaction as the change and delivered after commit by the outbox relay.
-- Delivery is at least once; `event_id` lets receivers drop duplicates.

-- CaterValley also receives its legacy status call; the key for their API is a secret.
ALTER TABLE api_partners ADD COLUMN status_call_url text;
ALTER TABLE api_partners ADD COLUMN status_call_key_ref text;

CREATE TABLE outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    kind            text NOT NULL CHECK (kind IN ('PARTNER_WEBHOOK', 'CATERVALLEY_STATUS')),
    order_id        uuid NOT NULL REFERENCES orders (id),
    partner_id      uuid NOT NULL REFERENCES api_partners (id),
    history_id      bigint REFERENCES order_status_history (id),
    payload         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DELIVERED', 'DEAD')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- Retries stop after this (NULL: the relay's horizon after created_at); re-queuing a dead
    -- message sets a new one.
    retry_until     timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    dead_at         timestamptz
);
-- The relay's pick: due pending messages, oldest first.
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at, id) WHERE status = 'PENDING';
-- Per-order ordering: an earlier pending message of the same order and kind goes first.
CREATE INDEX outbox_order_idx ON outbox (order_id, kind, id);
CREATE INDEX outbox_partner_idx ON outbox (partner_id, created_at DESC);
CREATE INDEX outbox_dead_idx ON outbox (dead_at DESC) WHERE status = 'DEAD';

CREATE TABLE outbox_attempts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    outbox_id    bigint NOT NULL REFERENCES outbox (id),
    attempted_at timestamptz NOT NULL DEFAULT now(),
    status_code  integer,
    latency_ms   integer NOT NULL,
    error        text,
    succeeded    boolean NOT NULL
);
CREATE INDEX outbox_attempts_message_idx ON outbox_attempts (outbox_id, attempted_at DESC);
CREATE INDEX outbox_attempts_time_idx ON outbox_attempts (attempted_at DESC);
