-- Statement statistics for GET /api/health/database. The extension ships with
-- PostgreSQL (and RDS); where it is missing or this role may not create it, the
-- migration goes on and the report says the statistics are unavailable.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements') THEN
        CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
    END IF;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'pg_stat_statements not created: %', SQLERRM;
END
$$;
