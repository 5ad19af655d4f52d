"""Deadline rules as data: the jurisdiction rules ops staff edit, and each organization's
choices of rules, its contract rules and its closed days, with the settings pages that edit them
(`/o/<org-slug>/settings/deadlines/`). The engine that turns rules into dates is `deadlines/`.
"""
