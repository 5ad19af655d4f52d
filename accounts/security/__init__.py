"""Sign-in protection, IP allowlists and session controls (issue #3).

lockout.py     django-axes glue: the username and lockout page callables, lock status, unlock
allowlist.py   the per-organization IP allowlist check and the ops admin allowlist
sessions.py    session tracking and the idle/absolute timeout middleware
receivers.py   sign-in, sign-out and password audit events (connected in AccountsConfig)
services.py    every write of this area
views.py, forms.py   the settings pages, the unlock action and "your sessions"
"""
