-- Each location report times its driver's open deliveries from the newest point: when the
-- driver is expected at the pickup (none once picked up) and at the drop, when that was
-- worked out, and from what travel times.
ALTER TABLE deliveries
    ADD COLUMN eta_pickup timestamptz,
    ADD COLUMN eta_dropoff timestamptz,
    ADD COLUMN eta_computed_at timestamptz,
    ADD COLUMN eta_source text CHECK (eta_source IN ('offline', 'google', 'mixed')),
    ADD CONSTRAINT deliveries_eta_check CHECK (
        (eta_computed_at IS NULL) = (eta_source IS NULL)
        AND (eta_computed_at IS NOT NULL OR (eta_pickup IS NULL AND eta_dropoff IS NULL)));
