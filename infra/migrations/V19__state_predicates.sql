-- The state predicates SQL needs, each defined once: the same rules as
-- shared::orders::status::OrderStatus::{is_open, is_settled, is_handed_over} and
-- shared::drivers::shifts::ShiftStatus::is_open, which a test checks against these for
-- every status. Plain SQL functions the planner inlines, so a query reads as the
-- expression itself (partial indexes written with it still apply).

-- The delivery still needs its driver: not yet handed over, completed or cancelled. A
-- DELIVERED order is neither open nor settled: the food is with the customer and only
-- its completion is left.
CREATE FUNCTION order_is_open(status text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT status NOT IN ('DELIVERED', 'COMPLETED', 'CANCELLED') $$;

-- Nothing about the order can change any more: COMPLETED or CANCELLED. A driver's feed
-- lists its unsettled orders (a DELIVERED one stays until its driver completes it).
CREATE FUNCTION order_is_settled(status text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT status IN ('COMPLETED', 'CANCELLED') $$;

-- The food reached the customer: DELIVERED or COMPLETED.
CREATE FUNCTION order_is_handed_over(status text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT status IN ('DELIVERED', 'COMPLETED') $$;

-- A shift the driver has not ended (active or paused).
CREATE FUNCTION shift_is_open(status text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT status <> 'completed' $$;
