"""Recovery codes back off after wrong guesses, as authenticator codes do (django-otp).

New columns with defaults: existing devices start with no back-off.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0010_passkeys"),
    ]

    operations = [
        migrations.AddField(
            model_name="recoverycodedevice",
            name="throttling_failure_count",
            field=models.PositiveIntegerField(
                default=0, help_text="Number of successive failed attempts."
            ),
        ),
        migrations.AddField(
            model_name="recoverycodedevice",
            name="throttling_failure_timestamp",
            field=models.DateTimeField(
                blank=True,
                default=None,
                help_text="A timestamp of the last failed verification attempt. Null if last attempt succeeded.",
                null=True,
            ),
        ),
    ]
