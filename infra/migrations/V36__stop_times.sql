-- When the driver reached the pickup and left it with the order, per delivery: the
-- pickup's service time in the on-time analytics. (The drop-off's is actual_arrival to
-- completed_at.)
ALTER TABLE deliveries
    ADD COLUMN pickup_arrival timestamptz,
    ADD COLUMN picked_up_at   timestamptz;

-- Deliveries made before this: the order's last such status change while the delivery's
-- dispatch was current.
UPDATE deliveries d
   SET pickup_arrival = (SELECT max(h.created_at) FROM order_status_history h
                          WHERE h.order_id = d.order_id AND h.to_driver_status = 'ARRIVED_AT_VENDOR'
                            AND h.created_at >= ds.assigned_at
                            AND (ds.unassigned_at IS NULL OR h.created_at <= ds.unassigned_at)),
       picked_up_at   = (SELECT max(h.created_at) FROM order_status_history h
                          WHERE h.order_id = d.order_id AND h.to_driver_status = 'PICKED_UP'
                            AND h.created_at >= ds.assigned_at
                            AND (ds.unassigned_at IS NULL OR h.created_at <= ds.unassigned_at))
  FROM dispatches ds
 WHERE ds.id = d.dispatch_id;
