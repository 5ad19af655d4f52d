"""Hash-chain the audit events (audit.chain) and add signed checkpoints (audit.checkpoints).

Existing events are chained in id order, per organization, as the owner role with the
append-only trigger switched off for the backfill only.
"""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models


def chain_existing_events(apps: Any, schema_editor: Any) -> None:
    from audit.chain import GENESIS, HASHED_FIELDS, event_hash

    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT set_config('k12cloud.all_tenants', 'on', true)")
        cursor.execute("SELECT count(*) FROM audit_auditevent")
        if cursor.fetchone()[0] == 0:
            return
        columns = ", ".join(HASHED_FIELDS)
        cursor.execute(
            f"SELECT id, {columns} FROM audit_auditevent ORDER BY organization_id NULLS FIRST, id"  # noqa: S608
        )
        rows = cursor.fetchall()
        heads: dict[int | None, tuple[int, str]] = {}
        updates = []
        for row in rows:
            fields = dict(zip(HASHED_FIELDS, row[1:], strict=True))
            if isinstance(fields["changes"], str):
                import json

                fields["changes"] = json.loads(fields["changes"])
            sequence, previous = heads.get(fields["organization_id"], (0, GENESIS))
            fields.update(sequence=sequence + 1, previous_hash=previous)
            digest = event_hash(fields)
            heads[fields["organization_id"]] = (sequence + 1, digest)
            updates.append((sequence + 1, previous, digest, row[0]))
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
        cursor.executemany(
            "UPDATE audit_auditevent SET sequence = %s, previous_hash = %s, hash = %s "
            "WHERE id = %s",
            updates,
        )
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_organization_security_settings"),
        ("audit", "0001_audit_event"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="sequence",
            field=models.BigIntegerField(default=0),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="previous_hash",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(chain_existing_events, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(
                condition=models.Q(("organization__isnull", False)),
                fields=("organization", "sequence"),
                name="audit_org_chain_position",
            ),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(
                condition=models.Q(("organization__isnull", True)),
                fields=("sequence",),
                name="audit_platform_chain_position",
            ),
        ),
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("sequence", models.BigIntegerField()),
                ("hash", models.CharField(max_length=64)),
                ("signed_at", models.DateTimeField()),
                ("key_id", models.CharField(max_length=16)),
                ("signature", models.CharField(max_length=100)),
                (
                    "organization",
                    models.ForeignKey(
                        blank=True,
                        help_text="Empty for the platform chain.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="accounts.organization",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["organization", "sequence"], name="audit_checkpoint_chain")
                ],
            },
        ),
    ]


# Like the events: an organization's checkpoints in its context, the platform's to ops only;
# append-only for every role (the runtime role also lacks UPDATE/DELETE, audit.apps).
CHECKPOINT_PROTECTION = """
ALTER TABLE audit_auditcheckpoint ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_auditcheckpoint FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_auditcheckpoint
    USING (k12cloud_tenant_visible(organization_id))
    WITH CHECK (organization_id IS NULL OR k12cloud_tenant_visible(organization_id));
CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE ON audit_auditcheckpoint
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();
"""
REVERSE_CHECKPOINT_PROTECTION = """
DROP TRIGGER IF EXISTS audit_checkpoint_append_only ON audit_auditcheckpoint;
DROP POLICY IF EXISTS tenant_isolation ON audit_auditcheckpoint;
"""
Migration.operations += [
    migrations.RunSQL(CHECKPOINT_PROTECTION, REVERSE_CHECKPOINT_PROTECTION),
]
