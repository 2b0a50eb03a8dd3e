-- Ending an account's sessions in the transaction that calls for it (a password change,
-- a purge): sessions begun before sessions_valid_after are refused by the authorizer and
-- by refresh, except sessions_kept (the session that changed the password).
ALTER TABLE users ADD COLUMN sessions_valid_after timestamptz, ADD COLUMN sessions_kept uuid;
