"""The Operators group with the admin permissions operators need (accounts.operators)."""

from django.db import migrations


def create_operators_group(apps, schema_editor):
    from accounts.operators import ensure_operators_group

    ensure_operators_group(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("accounts", "0002_api_token"),
        ("incidents", "0005_category"),
        ("reports", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_operators_group, migrations.RunPython.noop)]
