-- The outbox's third kind: emails to the customer of an order (driver assigned, driver
-- arriving, delivered), sent through SES by the relay. They belong to no partner.
ALTER TABLE outbox ALTER COLUMN partner_id DROP NOT NULL;
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('PARTNER_WEBHOOK', 'CATERVALLEY_STATUS', 'CUSTOMER_EMAIL'));
ALTER TABLE outbox ADD CONSTRAINT outbox_partner_kinds
    CHECK ((kind = 'CUSTOMER_EMAIL') = (partner_id IS NULL));
