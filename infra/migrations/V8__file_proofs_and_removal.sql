-- Who removed a file (its uploader or staff); the cleanup job purges the object and the
-- row once the retention has passed.
ALTER TABLE file_uploads ADD COLUMN deleted_by uuid REFERENCES users (id);
-- The cleanup job's other pick: soft-deleted files by age.
CREATE INDEX file_uploads_deleted_idx ON file_uploads (deleted_at) WHERE deleted_at IS NOT NULL;

-- Proof of delivery: the assigned driver's photo and the recipient's signature, each an
-- active upload. One delivery per driver and order.
ALTER TABLE deliveries
    ADD COLUMN pod_upload_id uuid REFERENCES file_uploads (id),
    ADD COLUMN pod_recorded_at timestamptz,
    ADD COLUMN signature_upload_id uuid REFERENCES file_uploads (id),
    ADD COLUMN signature_recorded_at timestamptz;
CREATE UNIQUE INDEX deliveries_order_driver_key ON deliveries (order_id, driver_id);
