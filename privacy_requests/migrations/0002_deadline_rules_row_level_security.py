from django.db import migrations

from k12cloud.rls import EnableTenantRowLevelSecurity


class Migration(migrations.Migration):
    dependencies = [
        ("privacy_requests", "0001_initial"),
        ("k12cloud", "0001_tenant_visibility_function"),
    ]

    operations = [
        EnableTenantRowLevelSecurity("organizationruleselection"),
        EnableTenantRowLevelSecurity("contractrule"),
        EnableTenantRowLevelSecurity("organizationclosure"),
    ]
