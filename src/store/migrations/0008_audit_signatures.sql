-- Signed chain heads (docs/security.md): each head's Ed25519 signature, made with a key kept
-- outside the database, as `ed25519:<key id>:<base64 signature>`; NULL when written unsigned.
ALTER TABLE change_sets ADD COLUMN audit_sig text;
ALTER TABLE audit_heads ADD COLUMN sig text;
