from django.db import migrations

from k12cloud.rls import EnableTenantRowLevelSecurity
from k12cloud.tenancy import USER_SETTING

# A signed-in user may read their own memberships in every organization (the organization
# switcher, and the membership check before a tenant context exists). Read-only: writes still
# need the organization's context.
OWN_MEMBERSHIPS = f"""
CREATE POLICY own_memberships ON accounts_membership FOR SELECT
USING (user_id = NULLIF(current_setting('{USER_SETTING}', true), '')::bigint);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("k12cloud", "0001_tenant_visibility_function"),
    ]

    operations = [
        EnableTenantRowLevelSecurity("membership"),
        migrations.RunSQL(OWN_MEMBERSHIPS, "DROP POLICY own_memberships ON accounts_membership;"),
    ]
