-- The drop ETA last announced to the order's partner (`delivery.eta_changed`) and when:
-- an ETA is announced again only once it has moved 2 minutes or more, at most every 30 s.
ALTER TABLE deliveries
    ADD COLUMN eta_announced_dropoff timestamptz,
    ADD COLUMN eta_announced_at timestamptz,
    ADD CONSTRAINT deliveries_eta_announced_check
        CHECK ((eta_announced_dropoff IS NULL) = (eta_announced_at IS NULL));
