"""Which rules apply to an organization by default, from its kind, country and subdivision.

A small table, read top to bottom; every matching row adds its rule ids. An organization can
change its selection later (`services.organization_rule_selection_set`). Adding a rule can
only make a deadline earlier (the earliest binds), so the table errs on including a rule.

| kind            | country | subdivision | rules                          |
|-----------------|---------|-------------|--------------------------------|
| platform        | any     | any         | k12cloud-policy                |
| district/vendor | any     | any         | k12cloud-service-level         |
| any             | US      | CA          | ccpa                           |
| district        | US      | CA          | ca-edcode-49069                |
| district        | US      | any         | ferpa                          |
| district        | US      | NY          | ny-part121                     |
| any             | CA      | any         | pipeda                         |
| district        | CA      | QC          | quebec-public                  |
| vendor/platform | CA      | QC          | quebec-private                 |
| district        | CA      | ON          | ontario-mfippa                 |

`k12cloud-policy` is k-12.cloud's own privacy policy: it binds the platform organization only.
Districts and vendors get the portal's service level instead (`k12cloud-service-level`: the
same 10 business days and 45 days, with one 45-day extension on notice), which an admin may
turn off; their statutes apply beside it and the earliest deadline binds. Migration
privacy_requests 0010 moved existing organizations to this table.

Quebec: school service centres are public bodies (CQLR c. A-2.1), vendors are private
enterprises (CQLR c. P-39.1), so each kind gets its own Quebec act.
"""

from __future__ import annotations

from typing import NamedTuple

ANY = None
DISTRICT = "district"
VENDOR = "vendor"
PLATFORM = "platform"


class DefaultRow(NamedTuple):
    kinds: frozenset[str] | None  # None: any kind
    country: str | None  # None: any country
    subdivision: str | None  # None: any subdivision
    rule_ids: tuple[str, ...]


DEFAULT_RULES: tuple[DefaultRow, ...] = (
    DefaultRow(frozenset({PLATFORM}), ANY, ANY, ("k12cloud-policy",)),
    DefaultRow(frozenset({DISTRICT, VENDOR}), ANY, ANY, ("k12cloud-service-level",)),
    DefaultRow(ANY, "US", "CA", ("ccpa",)),
    DefaultRow(frozenset({DISTRICT}), "US", "CA", ("ca-edcode-49069",)),
    DefaultRow(frozenset({DISTRICT}), "US", ANY, ("ferpa",)),
    DefaultRow(frozenset({DISTRICT}), "US", "NY", ("ny-part121",)),
    DefaultRow(ANY, "CA", ANY, ("pipeda",)),
    DefaultRow(frozenset({DISTRICT}), "CA", "QC", ("quebec-public",)),
    DefaultRow(frozenset({VENDOR, PLATFORM}), "CA", "QC", ("quebec-private",)),
    DefaultRow(frozenset({DISTRICT}), "CA", "ON", ("ontario-mfippa",)),
)


def default_rule_ids(kind: str, country: str, subdivision: str) -> tuple[str, ...]:
    """The rule ids `DEFAULT_RULES` gives an organization, in table order, without repeats."""
    country, subdivision = country.upper(), subdivision.upper()
    chosen: dict[str, None] = {}
    for row in DEFAULT_RULES:
        if (
            (row.kinds is None or kind in row.kinds)
            and (row.country is None or row.country == country)
            and (row.subdivision is None or row.subdivision == subdivision)
        ):
            chosen.update(dict.fromkeys(row.rule_ids))
    return tuple(chosen)
