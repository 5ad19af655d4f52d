"""One head row per audit chain (audit.chain.advance_head), filled from the chained events.

Row-level security like the events: an organization's head in its context, the platform's in
an all-tenants context. The runtime role may UPDATE it (every event moves it).
"""

import django.db.models.deletion
import django.db.models.functions.comparison
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_organization_security_settings"),
        ("audit", "0002_chain_hashes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="organization",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                help_text="Empty for platform events (sign-ins, second factors, ops actions).",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.organization",
            ),
        ),
        migrations.CreateModel(
            name="AuditChainHead",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("sequence", models.BigIntegerField()),
                ("hash", models.CharField(max_length=64)),
                (
                    "organization",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        help_text="Empty for the platform chain.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.organization",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        django.db.models.functions.comparison.Coalesce(
                            "organization", models.Value(0)
                        ),
                        name="audit_chain_head_one_per_chain",
                    )
                ],
            },
        ),
    ]


HEADS = """
ALTER TABLE audit_auditchainhead ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_auditchainhead FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_auditchainhead
    USING (k12cloud_tenant_visible(organization_id))
    WITH CHECK (organization_id IS NULL OR k12cloud_tenant_visible(organization_id));
SELECT set_config('k12cloud.all_tenants', 'on', true);
INSERT INTO audit_auditchainhead (organization_id, sequence, hash)
SELECT DISTINCT ON (organization_id) organization_id, sequence, hash
FROM audit_auditevent ORDER BY organization_id, sequence DESC;
"""
REVERSE_HEADS = "DROP POLICY IF EXISTS tenant_isolation ON audit_auditchainhead;"
Migration.operations += [migrations.RunSQL(HEADS, REVERSE_HEADS)]
