"""Writes of the accounts app, one module per area (members and invitations: `members`)."""
