"""Multi-factor authentication: TOTP enrolment and verification, hashed recovery codes, policy.

Built on django-otp: a confirmed `TOTPDevice` is the second factor; `RecoveryCodeDevice` holds
the SHA-256 hashes of single-use recovery codes (django-otp's StaticToken stores plaintext).
`MfaEnforcementMiddleware` sends signed-in users to verification or enrolment first.
"""
