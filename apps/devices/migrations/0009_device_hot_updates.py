"""Players' rows are updated in place by the heartbeat flush (see Device.Meta): no index on (online,
last_seen_at), and on PostgreSQL a fill factor that leaves room in each page for the new version of a row
(pages already written get that room as autovacuum frees them)."""

from django.db import migrations


def leave_room(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE devices_device SET (fillfactor = 80)")


def fill_pages(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE devices_device RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("devices", "0008_device_settings"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="device", name="devices_dev_online_c004f1_idx"),
        migrations.RunPython(leave_room, fill_pages),
    ]
