"""On PostgreSQL, the daily rollup's (fleet, screen, day) index with every column an aggregate reads: groups
of screens and dates are read in their order from the index alone. (A covering index exists on PostgreSQL
only, like the ledger's partitions; the model does not declare it.)"""

from django.db import migrations

INDEX = """
CREATE INDEX IF NOT EXISTS stats_daily_screen ON stats_dailyscreenplays (fleet_id, screen_id, day)
INCLUDE (timezone, starts_at, ends_at, screen_name, place_id, place_name, plays, total_duration)
"""


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INDEX)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS stats_daily_screen")


class Migration(migrations.Migration):
    dependencies = [
        ("stats", "0003_daily_rollup"),
    ]

    operations = [migrations.RunPython(create_index, drop_index)]
