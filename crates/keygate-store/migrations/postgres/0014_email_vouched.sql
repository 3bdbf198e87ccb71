-- Whether the instance vouches that the person holds their account's email: true for accounts
-- made at the command line (bootstrap) or by an instance admin, false for open sign-up and for
-- accounts made by accepting an invitation (whose code went to the inviter). Only a vouched
-- account finds and accepts the invitations addressed to its email without their link.
-- Accounts made before this column are vouched when the audit log shows them made that way.
ALTER TABLE users ADD COLUMN email_vouched BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE users SET email_vouched = TRUE
WHERE kind = 'human'
  AND id::text IN (
    SELECT lower(target_id) FROM audit_events
    WHERE target_type = 'user' AND action IN ('user.bootstrapped', 'user.created')
  );
