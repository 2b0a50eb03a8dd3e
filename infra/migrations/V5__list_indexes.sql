-- Indexes the list routes were missing, found by the index test over large tables
-- (tests/api/indexes.rs).

-- The admin webhook list pages every partner's messages newest first.
CREATE INDEX outbox_created_idx ON outbox (created_at DESC, event_id DESC);

-- Order search matches substrings of the number, the attention line and the partner's
-- code (ILIKE '%…%'), which only trigram indexes serve.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX orders_number_trgm ON orders USING gin (order_number gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX orders_attention_trgm ON orders USING gin (client_attention gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX orders_partner_code_trgm ON orders USING gin (partner_order_code gin_trgm_ops) WHERE deleted_at IS NULL;
