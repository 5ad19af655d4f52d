"""The triage queue (`/o/<org-slug>/requests/`): keyset pages sorted by what is due first,
filters, bulk actions and the streamed register export. Reads in `selectors.py`, the pages in
`views.py`, their forms in `forms.py`.
"""
