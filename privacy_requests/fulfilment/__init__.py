"""Fulfilment of privacy requests: the access/portability package, deletion, correction.

See docs/fulfilment.md. Services in `services.py`, reads in `selectors.py`, the package's
contents in `builders.py`, the organization pages and the requester's download in `views.py`,
the API in `api.py`.
"""
