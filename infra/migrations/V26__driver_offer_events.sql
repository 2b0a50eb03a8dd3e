-- The outbox's fourth kind: `driver.offer` events (each auto-dispatch offer, answer,
-- withdrawal and escalation) for the driver push channel. They belong to no partner.
-- Where no push channel is configured the relay settles them as SKIPPED: the event is
-- on record, and nothing waits for a receiver that does not exist.
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('PARTNER_WEBHOOK', 'CATERVALLEY_STATUS', 'CUSTOMER_EMAIL', 'DRIVER_PUSH'));
ALTER TABLE outbox DROP CONSTRAINT outbox_partner_kinds;
ALTER TABLE outbox ADD CONSTRAINT outbox_partner_kinds
    CHECK ((kind IN ('CUSTOMER_EMAIL', 'DRIVER_PUSH')) = (partner_id IS NULL));
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check
    CHECK (status IN ('PENDING', 'DELIVERED', 'DEAD', 'SKIPPED'));
