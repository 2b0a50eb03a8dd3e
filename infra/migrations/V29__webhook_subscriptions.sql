-- Each partner hears only the webhook events it subscribes to (staff change the list,
-- audited); NULL, a partner that never chose, hears every event, those added later too.
ALTER TABLE api_partners ADD COLUMN webhook_events text[];

ALTER TABLE staff_audits DROP CONSTRAINT IF EXISTS staff_audits_entity_type_check;
ALTER TABLE staff_audits
    ADD CONSTRAINT staff_audits_entity_type_check
        CHECK (entity_type IN ('ORDER', 'PRICING_CONFIGURATION', 'JOB_APPLICATION',
                               'DRIVER_AVAILABILITY', 'AUTO_DISPATCH_SETTINGS', 'API_PARTNER'));
