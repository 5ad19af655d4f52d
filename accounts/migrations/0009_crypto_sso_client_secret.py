"""The SSO client secret becomes an encrypted field (k12cloud.encryption).

No data step: SSO connections arrived in the same release (0008), so no plaintext secret was
ever stored by a deployed version.
"""

from django.db import migrations

import k12cloud.encryption.fields


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_integrations_sso_connection"),
        ("k12cloud", "0002_crypto_organization_data_key"),
    ]

    operations = [
        migrations.AlterField(
            model_name="ssoconnection",
            name="client_secret",
            field=k12cloud.encryption.fields.EncryptedTextField(
                max_length=500, verbose_name="client secret"
            ),
        ),
    ]
