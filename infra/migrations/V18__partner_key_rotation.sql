-- A partner's API key rotates without refusing its calls: the key it replaced stays
-- valid until `previous_key_valid_until`, so the partner switches on its own schedule.
ALTER TABLE api_partners
    ADD COLUMN previous_api_key_hash text,
    ADD COLUMN previous_key_valid_until timestamptz,
    ADD CONSTRAINT api_partners_previous_key_check
        CHECK ((previous_api_key_hash IS NULL) = (previous_key_valid_until IS NULL));
