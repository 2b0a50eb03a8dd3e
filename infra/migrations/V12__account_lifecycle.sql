-- Accounts made by staff, restored and purged (issue 21).

-- A purged account keeps its row (orders and audit rows reference it) with every
-- personal field cleared; purged_at says when.
ALTER TABLE users ADD COLUMN purged_at timestamptz;
ALTER TABLE users ADD CONSTRAINT users_purged_only_when_deleted
    CHECK (purged_at IS NULL OR status = 'DELETED');

-- One-time links to set a password, for accounts staff create. Only the SHA-256 of the
-- token is kept; it works once, before expires_at.
CREATE TABLE password_set_tokens (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES users (id),
    token_hash  text NOT NULL UNIQUE,
    created_by  uuid REFERENCES users (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX password_set_tokens_user_idx ON password_set_tokens (user_id, created_at DESC);

-- The deleted-accounts list, newest deletion first.
CREATE INDEX users_deleted_list_idx ON users (deleted_at DESC, id DESC) WHERE deleted_at IS NOT NULL;

-- Audit history per account, filtered by action or performer, newest first.
CREATE INDEX user_audits_user_id_idx ON user_audits (user_id, created_at DESC, id DESC);
