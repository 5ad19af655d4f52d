"""Load the reference rules of docs/deadlines.md (privacy_requests/deadlines/reference_rules.py).

The rows are written out here, not imported, so that this migration loads the same data
whatever later happens to reference_rules.py; `test_reference_rules_migration` checks that
the two agree. Rows of "unverified" confidence ship disabled.

The `k12cloud-service-level` row came later (issue 16): it is listed here so that a new database,
and tests that reload this table after a flush, have the whole reference table; migration 0010
inserts it into databases that ran this migration before it existed.
"""

from django.db import migrations

ROWS = (
    {
        "rule_id": "k12cloud-policy",
        "jurisdiction": "k-12.cloud privacy policy",
        "request_types": [
            "access",
            "correct",
            "delete",
            "limit_sensitive",
            "object",
            "opt_out",
            "portability",
            "restrict",
            "withdraw_consent",
        ],
        "acknowledge_amount": 10,
        "acknowledge_unit": "business_days",
        "respond_amount": 45,
        "respond_unit": "calendar_days",
        "calendar_country": "US",
        "source": "k-12.cloud privacy policy §11",
        "confidence": "high",
        "enabled": True,
    },
    {
        "rule_id": "k12cloud-service-level",
        "jurisdiction": "k-12.cloud service level",
        "request_types": [
            "access",
            "correct",
            "delete",
            "limit_sensitive",
            "object",
            "opt_out",
            "portability",
            "restrict",
            "withdraw_consent",
        ],
        "acknowledge_amount": 10,
        "acknowledge_unit": "business_days",
        "respond_amount": 45,
        "respond_unit": "calendar_days",
        "extension_amount": 45,
        "extension_unit": "calendar_days",
        "extension_notice": "within_response_period",
        "calendar_country": "US",
        "source": "k-12.cloud service level (modelled on 11 CCR §7021)",
        "confidence": "high",
        "notes": "one extension, with written notice and reasons before the first 45 days end",
        "enabled": True,
    },
    {
        "rule_id": "ccpa",
        "jurisdiction": "US-CA",
        "request_types": ["access", "correct", "delete", "portability"],
        "acknowledge_amount": 10,
        "acknowledge_unit": "business_days",
        "respond_amount": 45,
        "respond_unit": "calendar_days",
        "extension_amount": 45,
        "extension_unit": "calendar_days",
        "extension_notice": "within_response_period",
        "calendar_country": "US",
        "source": "11 CCR §7021; Cal. Civ. Code §1798.130",
        "confidence": "high",
        "notes": "one extension, with notice and reasons before the first 45 days end",
        "enabled": True,
    },
    {
        "rule_id": "ccpa",
        "jurisdiction": "US-CA",
        "request_types": ["opt_out"],
        "respond_amount": 15,
        "respond_unit": "business_days",
        "calendar_country": "US",
        "source": "11 CCR §7026",
        "confidence": "high",
        "notes": "includes Global Privacy Control; no identity verification may be required",
        "enabled": True,
    },
    {
        "rule_id": "ccpa",
        "jurisdiction": "US-CA",
        "request_types": ["limit_sensitive"],
        "respond_amount": 15,
        "respond_unit": "business_days",
        "calendar_country": "US",
        "source": "11 CCR §7027",
        "confidence": "unverified",
        "enabled": False,
    },
    {
        "rule_id": "gdpr",
        "jurisdiction": "EU/UK",
        "request_types": ["access", "correct", "delete", "object", "portability", "restrict"],
        "respond_amount": 1,
        "respond_unit": "months",
        "extension_amount": 2,
        "extension_unit": "months",
        "extension_notice": "within_response_period",
        "roll_forward": True,
        "calendar_country": "",
        "source": "GDPR Art. 12(3); Reg. 1182/71 Art. 3",
        "confidence": "high",
        "notes": "notice of the extension, with reasons, within the first month",
        "enabled": True,
    },
    {
        "rule_id": "ferpa",
        "jurisdiction": "US",
        "request_types": ["ferpa_inspect"],
        "respond_amount": 45,
        "respond_unit": "calendar_days",
        "calendar_country": "US",
        "source": "34 CFR 99.10",
        "confidence": "high",
        "enabled": True,
    },
    {
        "rule_id": "ferpa",
        "jurisdiction": "US",
        "request_types": ["ferpa_amend"],
        "calendar_country": "US",
        "source": "34 CFR 99.20-99.22",
        "confidence": "high",
        "notes": "hearing on request if the amendment is refused",
        "enabled": True,
    },
    {
        "rule_id": "ca-edcode-49069",
        "jurisdiction": "US-CA",
        "request_types": ["ferpa_inspect"],
        "respond_amount": 5,
        "respond_unit": "business_days",
        "calendar_country": "US",
        "source": "Cal. Ed. Code §49069.7",
        "confidence": "high",
        "notes": "California pupil records; shorter than FERPA's 45 days",
        "enabled": True,
    },
    {
        "rule_id": "ny-part121",
        "jurisdiction": "US-NY",
        "request_types": ["ferpa_inspect"],
        "respond_amount": 45,
        "respond_unit": "calendar_days",
        "calendar_country": "US",
        "source": "8 NYCRR 121.12",
        "confidence": "medium-high",
        "enabled": True,
    },
    {
        "rule_id": "pipeda",
        "jurisdiction": "CA",
        "request_types": ["access"],
        "respond_amount": 30,
        "respond_unit": "calendar_days",
        "extension_amount": 30,
        "extension_unit": "calendar_days",
        "extension_notice": "within_response_period",
        "calendar_country": "CA",
        "source": "PIPEDA s.8(3)-(5)",
        "confidence": "high",
        "notes": "silence by the deadline is deemed a refusal",
        "enabled": True,
    },
    {
        "rule_id": "quebec-private",
        "jurisdiction": "CA-QC",
        "request_types": ["access", "correct", "portability"],
        "respond_amount": 30,
        "respond_unit": "calendar_days",
        "calendar_country": "CA",
        "calendar_subdivision": "QC",
        "source": "CQLR c. P-39.1 s.32",
        "confidence": "medium",
        "enabled": True,
    },
    {
        "rule_id": "quebec-public",
        "jurisdiction": "CA-QC",
        "request_types": ["access", "correct", "portability"],
        "respond_amount": 20,
        "respond_unit": "calendar_days",
        "extension_amount": 10,
        "extension_unit": "calendar_days",
        "extension_notice": "within_response_period",
        "calendar_country": "CA",
        "calendar_subdivision": "QC",
        "source": "CQLR c. A-2.1 s.98",
        "confidence": "high",
        "notes": "notice of the extension by mail within the first 20 days",
        "enabled": True,
    },
    {
        "rule_id": "ontario-mfippa",
        "jurisdiction": "CA-ON",
        "request_types": ["access"],
        "respond_amount": 30,
        "respond_unit": "calendar_days",
        "calendar_country": "CA",
        "calendar_subdivision": "ON",
        "source": "MFIPPA ss.19-22",
        "confidence": "high",
        "enabled": True,
    },
)


def load(apps, schema_editor):
    JurisdictionRule = apps.get_model("privacy_requests", "JurisdictionRule")
    JurisdictionRule.objects.bulk_create(
        JurisdictionRule(**{**row, "enabled": row["enabled"] and row["confidence"] != "unverified"})
        for row in ROWS
    )


def unload(apps, schema_editor):
    JurisdictionRule = apps.get_model("privacy_requests", "JurisdictionRule")
    JurisdictionRule.objects.filter(rule_id__in={row["rule_id"] for row in ROWS}).delete()


class Migration(migrations.Migration):
    dependencies = [("privacy_requests", "0002_deadline_rules_row_level_security")]

    operations = [migrations.RunPython(load, unload)]
