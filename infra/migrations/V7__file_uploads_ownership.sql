-- Uploads go through a presigned URL: a row starts PENDING when the URL is issued and
-- becomes ACTIVE only once the object is checked. What a file belongs to is explicit.
ALTER TABLE file_uploads
    ADD COLUMN status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('PENDING', 'ACTIVE')),
    ADD COLUMN entity_type text CHECK (entity_type IN ('order', 'user')),
    ADD COLUMN entity_id uuid,
    ADD COLUMN completed_at timestamptz;
-- A file's list under its entity, newest first (keyset pages).
CREATE INDEX file_uploads_entity_idx ON file_uploads (entity_type, entity_id, uploaded_at DESC, id DESC)
    WHERE deleted_at IS NULL AND status = 'ACTIVE';
-- The cleanup job's pick: pending uploads by age.
CREATE INDEX file_uploads_pending_idx ON file_uploads (uploaded_at) WHERE status = 'PENDING';
