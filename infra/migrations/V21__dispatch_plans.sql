-- Dispatch plans: a day's (or a few days') unassigned orders planned into routes for the
-- drivers available, solved by the planner job within a time budget. The row is the
-- plan's whole life: queued, solving (with the search's progress), solved (its routes and
-- unserved orders) or failed, then applied or dismissed. Solving writes nothing but this
-- row, so a job that stops half-way leaves no half-applied state.
CREATE TABLE dispatch_plans (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    service_from       date NOT NULL,
    service_to         date NOT NULL,
    mode               text NOT NULL DEFAULT 'PLAN' CHECK (mode IN ('PLAN', 'INSERT')),
    status             text NOT NULL DEFAULT 'QUEUED'
        CHECK (status IN ('QUEUED', 'SOLVING', 'SOLVED', 'FAILED', 'APPLIED')),
    -- The orders and drivers the dispatcher limited it to (all of the days' when null).
    order_ids          uuid[],
    driver_ids         uuid[],
    time_limit_seconds integer NOT NULL CHECK (time_limit_seconds BETWEEN 1 AND 840),
    requested_by       uuid NOT NULL REFERENCES users (id),
    -- The search as it goes: {generation, bestCost, routes, unassigned, elapsedSeconds}.
    progress           jsonb,
    -- What it was solved from (each order's last change), so a stale plan is refused.
    inputs             jsonb,
    result             jsonb,
    error              text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    started_at         timestamptz,
    finished_at        timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (service_to >= service_from AND service_to - service_from < 7),
    CHECK ((status = 'SOLVED' OR status = 'APPLIED') = (result IS NOT NULL)),
    -- One plan at a time solves any one day: a second is refused (409) naming the first.
    CONSTRAINT dispatch_plans_one_solving
        EXCLUDE USING gist (daterange(service_from, service_to, '[]') WITH &&)
        WHERE (status IN ('QUEUED', 'SOLVING'))
);
CREATE INDEX dispatch_plans_created_idx ON dispatch_plans (created_at DESC, id DESC);
CREATE TRIGGER dispatch_plans_updated_at BEFORE UPDATE ON dispatch_plans
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
