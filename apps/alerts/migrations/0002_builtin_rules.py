from django.db import migrations


def create_builtin_rules(apps, schema_editor):
    from apps.alerts.builtin import builtin_rules_create

    AlertRule = apps.get_model("alerts", "AlertRule")
    Fleet = apps.get_model("accounts", "Fleet")
    for fleet in Fleet.objects.all():
        builtin_rules_create(fleet=fleet, rule_model=AlertRule)


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial"), ("accounts", "0003_fleet_telemetry_history_interval")]

    operations = [migrations.RunPython(create_builtin_rules, migrations.RunPython.noop)]
