"""Encryption at rest for personal data: envelope encryption with a key per organization.

    master keys (environment, ENCRYPTION_MASTER_KEYS)
      └─ wrap each organization's data keys (OrganizationDataKey rows, AES-256-GCM)
           └─ encrypt its personal fields (EncryptedTextField, AES-256-GCM, versioned envelope)

- `fields`: `EncryptedTextField`, `EncryptedEmailField` and the companion `BlindIndexField`
  (a keyed hash for equality lookups, e.g. "the open invitation for this email").
- `keys`: the key store and its services (create, rotate, rotate the master key, destroy).
- `master_keys`: parsing ENCRYPTION_MASTER_KEYS (imported by settings: no models here).
- `manage.py encryption_keys rotate|rotate-master|destroy` runs the key services.

Destroying an organization's keys (crypto-shredding) makes its encrypted columns unreadable
wherever they are copied. Database backups also hold the wrapped key until the master key that
wrapped it is retired: see `keys.organization_keys_destroy`.
"""
