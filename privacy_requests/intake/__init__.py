"""The public intake of privacy requests: `/privacy/<org-slug>/` (see docs/privacy-intake.md)."""
