-- A delivery predicted to miss its window: recorded once when its ETA to the drop passes
-- the order's window end by the threshold, closed when the ETA is back inside the window
-- (and recorded again only if it slips again). `alerted_at` is when the dispatchers' alert
-- was raised for it.
CREATE TABLE delivery_delays (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id          uuid NOT NULL REFERENCES orders (id),
    delivery_id       uuid NOT NULL REFERENCES deliveries (id),
    window_end        timestamptz NOT NULL,
    predicted_dropoff timestamptz NOT NULL,
    delayed_at        timestamptz NOT NULL DEFAULT now(),
    recovered_at      timestamptz,
    alerted_at        timestamptz,
    CHECK (predicted_dropoff > window_end OR recovered_at IS NOT NULL)
);
-- One open delay per order.
CREATE UNIQUE INDEX delivery_delays_open_idx ON delivery_delays (order_id) WHERE recovered_at IS NULL;
CREATE INDEX delivery_delays_order_idx ON delivery_delays (order_id, delayed_at DESC);
