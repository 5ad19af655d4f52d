"""Settings modules: `local` (development), `test` (pytest) and `production`.

Everything that differs between deployments comes from the environment; see `base.py` and the
README's configuration table.
"""
