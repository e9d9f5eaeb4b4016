from django.db import migrations

# The ids are part of the API contract: allocated_times and author_origin accept "1" or "lessor".
STANDARD_TYPES = [(1, "lessor"), (2, "advertiser"), (3, "agency")]


def create_types(apps, schema_editor):
    AdvertiserType = apps.get_model("accounts", "AdvertiserType")
    for pk, name in STANDARD_TYPES:
        AdvertiserType.objects.update_or_create(pk=pk, defaults={"name": name})


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(create_types, migrations.RunPython.noop)]
