"""Bound every period of the deadline rules to a year of its unit (privacy_requests.rules.periods).

A row already longer than that (a contract rule of 2,147,483,647 days broke every intake of its
types) is shortened to the maximum and disabled, so that its organization or ops staff look at
it again; then the CHECK constraints are added. The rows are read as the owner with the
all-tenants setting of this transaction (the tables force row-level security).
"""

from typing import Any

from django.db import migrations, models

# As of this migration (privacy_requests.deadlines.PERIOD_MAXIMUM may change later).
MAXIMUM = {"calendar_days": 366, "business_days": 260, "months": 12, "hours": 8784}
PERIODS = {
    "privacy_requests_contractrule": ("acknowledge", "respond"),
    "privacy_requests_jurisdictionrule": (
        "acknowledge",
        "respond",
        "extension",
        "extension_notice",
    ),
}


def shorten_and_disable_overlong_periods(apps: Any, schema_editor: Any) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT set_config('k12cloud.all_tenants', 'on', true)")
        for table, prefixes in PERIODS.items():
            for prefix in prefixes:
                for unit, maximum in MAXIMUM.items():
                    cursor.execute(
                        f"UPDATE {table} SET {prefix}_amount = %s, enabled = false "  # noqa: S608
                        f"WHERE {prefix}_unit = %s AND {prefix}_amount > %s",
                        [maximum, unit, maximum],
                    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0009_crypto_sso_client_secret"),
        ("privacy_requests", "0008_evidence_files"),
    ]

    operations = [
        migrations.RunPython(shorten_and_disable_overlong_periods, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="contractrule",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("acknowledge_amount__isnull", True),
                    models.Q(
                        ("acknowledge_amount__lte", 366), ("acknowledge_unit", "calendar_days")
                    ),
                    models.Q(
                        ("acknowledge_amount__lte", 260), ("acknowledge_unit", "business_days")
                    ),
                    models.Q(("acknowledge_amount__lte", 12), ("acknowledge_unit", "months")),
                    models.Q(("acknowledge_amount__lte", 8784), ("acknowledge_unit", "hours")),
                    _connector="OR",
                ),
                name="contract_rule_acknowledge_bounded",
            ),
        ),
        migrations.AddConstraint(
            model_name="contractrule",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("respond_amount__isnull", True),
                    models.Q(("respond_amount__lte", 366), ("respond_unit", "calendar_days")),
                    models.Q(("respond_amount__lte", 260), ("respond_unit", "business_days")),
                    models.Q(("respond_amount__lte", 12), ("respond_unit", "months")),
                    models.Q(("respond_amount__lte", 8784), ("respond_unit", "hours")),
                    _connector="OR",
                ),
                name="contract_rule_respond_bounded",
            ),
        ),
        migrations.AddConstraint(
            model_name="jurisdictionrule",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("acknowledge_amount__isnull", True),
                    models.Q(
                        ("acknowledge_amount__lte", 366), ("acknowledge_unit", "calendar_days")
                    ),
                    models.Q(
                        ("acknowledge_amount__lte", 260), ("acknowledge_unit", "business_days")
                    ),
                    models.Q(("acknowledge_amount__lte", 12), ("acknowledge_unit", "months")),
                    models.Q(("acknowledge_amount__lte", 8784), ("acknowledge_unit", "hours")),
                    _connector="OR",
                ),
                name="jurisdiction_rule_acknowledge_bounded",
            ),
        ),
        migrations.AddConstraint(
            model_name="jurisdictionrule",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("respond_amount__isnull", True),
                    models.Q(("respond_amount__lte", 366), ("respond_unit", "calendar_days")),
                    models.Q(("respond_amount__lte", 260), ("respond_unit", "business_days")),
                    models.Q(("respond_amount__lte", 12), ("respond_unit", "months")),
                    models.Q(("respond_amount__lte", 8784), ("respond_unit", "hours")),
                    _connector="OR",
                ),
                name="jurisdiction_rule_respond_bounded",
            ),
        ),
        migrations.AddConstraint(
            model_name="jurisdictionrule",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("extension_amount__isnull", True),
                    models.Q(("extension_amount__lte", 366), ("extension_unit", "calendar_days")),
                    models.Q(("extension_amount__lte", 260), ("extension_unit", "business_days")),
                    models.Q(("extension_amount__lte", 12), ("extension_unit", "months")),
                    models.Q(("extension_amount__lte", 8784), ("extension_unit", "hours")),
                    _connector="OR",
                ),
                name="jurisdiction_rule_extension_bounded",
            ),
        ),
        migrations.AddConstraint(
            model_name="jurisdictionrule",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("extension_notice_amount__isnull", True),
                    models.Q(
                        ("extension_notice_amount__lte", 366),
                        ("extension_notice_unit", "calendar_days"),
                    ),
                    models.Q(
                        ("extension_notice_amount__lte", 260),
                        ("extension_notice_unit", "business_days"),
                    ),
                    models.Q(
                        ("extension_notice_amount__lte", 12), ("extension_notice_unit", "months")
                    ),
                    models.Q(
                        ("extension_notice_amount__lte", 8784), ("extension_notice_unit", "hours")
                    ),
                    _connector="OR",
                ),
                name="jurisdiction_rule_extension_notice_bounded",
            ),
        ),
    ]
