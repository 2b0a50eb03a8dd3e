-- Driver applications (the original's job applications): anyone may apply without an
-- account; staff review them (PENDING -> INTERVIEWING -> APPROVED | REJECTED) and an
-- approval makes the DRIVER account, recorded in user_id.
CREATE TABLE job_applications (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    first_name       text NOT NULL,
    last_name        text NOT NULL,
    email            text NOT NULL,
    phone            text NOT NULL,
    city             text,
    state            text,
    zip              text,
    vehicle_type     text CHECK (vehicle_type IN ('CAR', 'VAN', 'TRUCK')),
    years_experience smallint CHECK (years_experience BETWEEN 0 AND 70),
    message          text,
    status           text NOT NULL DEFAULT 'PENDING'
                     CHECK (status IN ('PENDING', 'INTERVIEWING', 'APPROVED', 'REJECTED')),
    notes            text,
    reviewed_by      uuid REFERENCES users (id),
    reviewed_at      timestamptz,
    user_id          uuid UNIQUE REFERENCES users (id),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'APPROVED') = (user_id IS NOT NULL))
);
-- Staff's list, newest first, optionally by status (keyset pages).
CREATE INDEX job_applications_created_idx ON job_applications (created_at DESC, id DESC);
CREATE INDEX job_applications_status_idx ON job_applications (status, created_at DESC, id DESC);
-- One application under review per email (a resubmitted form is a 409); a purge finds
-- every application made under an email.
CREATE UNIQUE INDEX job_applications_open_email ON job_applications (lower(email))
    WHERE status IN ('PENDING', 'INTERVIEWING');
CREATE INDEX job_applications_email_idx ON job_applications (lower(email));

-- An applicant uploads documents before having an account: such a file has no uploader
-- account, only the application it belongs to.
ALTER TABLE file_uploads ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE file_uploads DROP CONSTRAINT IF EXISTS file_uploads_entity_type_check;
ALTER TABLE file_uploads
    ADD CONSTRAINT file_uploads_entity_type_check
        CHECK (entity_type IN ('order', 'user', 'job_application')),
    ADD CONSTRAINT file_uploads_uploader_check
        CHECK (user_id IS NOT NULL OR entity_type = 'job_application');

ALTER TABLE staff_audits DROP CONSTRAINT IF EXISTS staff_audits_entity_type_check;
ALTER TABLE staff_audits
    ADD CONSTRAINT staff_audits_entity_type_check
        CHECK (entity_type IN ('ORDER', 'PRICING_CONFIGURATION', 'JOB_APPLICATION'));
