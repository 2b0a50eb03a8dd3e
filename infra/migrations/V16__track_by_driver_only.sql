-- The track's second index, (shift_id, recorded_at), doubled the index work of every
-- stored point. A shift belongs to one driver, so its points are found through the
-- primary key (driver_id, recorded_at) from the shift's start, filtered on shift_id.
DROP INDEX IF EXISTS driver_locations_shift_idx;
