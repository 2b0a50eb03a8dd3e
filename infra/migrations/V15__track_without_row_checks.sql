-- The driver track takes thousands of points a second; each foreign key on it is a
-- lookup per inserted row (into drivers and driver_shifts) that the ingest has already
-- made: it writes only the caller's own driver id and the open shift it has just read.
-- Drivers are never deleted (a purge removes their track first), and retention drops
-- whole days, so nothing is left pointing nowhere.
DO $$
DECLARE fk record;
BEGIN
    FOR fk IN SELECT conname FROM pg_constraint
               WHERE conrelid = 'driver_locations'::regclass AND contype = 'f' AND conparentid = 0
    LOOP
        EXECUTE format('ALTER TABLE driver_locations DROP CONSTRAINT %I', fk.conname);
    END LOOP;
END $$;
