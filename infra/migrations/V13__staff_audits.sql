-- Staff changes to orders and pricing, audited like changes to accounts (user_audits):
-- who, when, what (the fields before and after), why.
CREATE TABLE staff_audits (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity_type  text NOT NULL CHECK (entity_type IN ('ORDER', 'PRICING_CONFIGURATION')),
    entity_id    uuid NOT NULL,
    action       text NOT NULL,
    performed_by uuid REFERENCES users (id),
    changes      jsonb NOT NULL DEFAULT '{}'::jsonb,
    reason       text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX staff_audits_entity_idx ON staff_audits (entity_type, entity_id, created_at DESC);
CREATE INDEX staff_audits_performer_idx ON staff_audits (performed_by, created_at DESC);
