from django.db import migrations

from k12cloud.rls import CREATE_VISIBILITY_FUNCTION, DROP_VISIBILITY_FUNCTION


class Migration(migrations.Migration):
    initial = True
    dependencies: list[tuple[str, str]] = []
    operations = [migrations.RunSQL(CREATE_VISIBILITY_FUNCTION, DROP_VISIBILITY_FUNCTION)]
