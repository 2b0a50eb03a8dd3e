-- Road travel between places as Google's Distance Matrix answered it, cached for route
-- planning (each pair is billed; vendors and clients recur). Places are "lat,lng" to five
-- decimals (about a meter). Planning uses a pair for 30 days, then asks again and
-- overwrites it.
CREATE TABLE travel_times (
    origin      text NOT NULL,
    destination text NOT NULL,
    meters      double precision NOT NULL CHECK (meters >= 0),
    seconds     double precision NOT NULL CHECK (seconds >= 0),
    fetched_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (origin, destination)
);
