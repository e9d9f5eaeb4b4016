"""The proof-of-play ledger: events keep ids and names at the time (no foreign keys), partitioned by
month on PostgreSQL, with an hourly rollup. Rows of the old table are carried over where they still
name a screen, a player and a media."""

from datetime import UTC, datetime

from django.db import migrations, models


def create_tables(apps, schema_editor):
    from apps.stats import partitions

    PlayEvent = apps.get_model("stats", "PlayEvent")
    HourlyPlays = apps.get_model("stats", "HourlyPlays")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(partitions.CREATE_PARTITIONED)
    else:
        schema_editor.create_model(PlayEvent)
    schema_editor.create_model(HourlyPlays)


def drop_tables(apps, schema_editor):
    schema_editor.execute("DROP TABLE stats_playevent")
    schema_editor.execute("DROP TABLE stats_hourlyplays")


def copy_legacy(apps, schema_editor):
    from apps.stats import partitions

    Legacy = apps.get_model("stats", "LegacyPlayEvent")
    PlayEvent = apps.get_model("stats", "PlayEvent")
    rows = Legacy.objects.filter(screen__isnull=False, device__isnull=False, media__isnull=False).select_related(
        "screen__fleet", "screen__place", "device", "ad", "media"
    )
    first = rows.order_by("started_at").values_list("started_at", flat=True).first()
    if schema_editor.connection.vendor == "postgresql":
        partitions.partitions_ensure(start=(first or datetime.now(UTC)).date(), months_ahead=3)
    now = datetime.now(UTC)
    batch = []
    for old in rows.iterator(chunk_size=2000):
        screen = old.screen
        batch.append(
            PlayEvent(
                fleet_id=screen.fleet_id, event_id=old.id, device_id=old.device_id, device_name=old.device.name,
                screen_id=screen.id, screen_name=screen.name, place_id=screen.place_id,
                place_name=screen.place.name if screen.place_id else "",
                timezone=screen.timezone or screen.fleet.timezone or "UTC",
                ad_id=old.ad_id, ad_name=old.ad.name if old.ad_id else "", broadcast_id=old.broadcast_id,
                media_id=old.media_id, media_type=old.media.type, media_name=old.media.name,
                started_at=old.started_at, duration=old.duration, received_at=old.received_at or now,
            )
        )  # fmt: skip
        if len(batch) >= 2000:
            PlayEvent.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    PlayEvent.objects.bulk_create(batch, ignore_conflicts=True)
    if schema_editor.connection.vendor == "postgresql":
        from apps.stats.services import ROLLUP_REBUILD_SQL

        schema_editor.execute(ROLLUP_REBUILD_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("stats", "0001_initial"),
    ]

    operations = [
        migrations.RenameModel("PlayEvent", "LegacyPlayEvent"),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="PlayEvent",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        ("fleet_id", models.BigIntegerField()),
                        ("event_id", models.UUIDField(help_text="The player's own event id")),
                        ("device_id", models.BigIntegerField()),
                        ("device_name", models.CharField(blank=True, max_length=200)),
                        ("screen_id", models.UUIDField()),
                        ("screen_name", models.CharField(blank=True, max_length=100)),
                        ("place_id", models.BigIntegerField(null=True)),
                        ("place_name", models.CharField(blank=True, max_length=255)),
                        ("timezone", models.CharField(help_text="The screen's timezone at the time", max_length=64)),
                        ("ad_id", models.UUIDField(null=True)),
                        ("ad_name", models.CharField(blank=True, max_length=255)),
                        ("broadcast_id", models.UUIDField(null=True)),
                        ("media_id", models.BigIntegerField()),
                        ("media_type", models.CharField(max_length=10)),
                        ("media_name", models.CharField(blank=True, max_length=255)),
                        ("started_at", models.DateTimeField()),
                        ("duration", models.FloatField(help_text="Seconds")),
                        ("received_at", models.DateTimeField()),
                    ],
                    options={
                        "ordering": ["-started_at", "-id"],
                        "indexes": [
                            models.Index(fields=["fleet_id", "started_at", "id"], name="stats_event_fleet_time"),
                            models.Index(fields=["fleet_id", "screen_id", "started_at"], name="stats_event_screen_time"),
                            models.Index(fields=["fleet_id", "ad_id", "started_at"], name="stats_event_ad_time"),
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("fleet_id", "device_id", "event_id", "started_at"),
                                name="stats_event_once_per_player",
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="HourlyPlays",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        ("fleet_id", models.BigIntegerField()),
                        ("hour", models.DateTimeField()),
                        ("screen_id", models.UUIDField()),
                        ("screen_name", models.CharField(blank=True, max_length=100)),
                        ("place_id", models.BigIntegerField(null=True)),
                        ("place_name", models.CharField(blank=True, max_length=255)),
                        ("timezone", models.CharField(max_length=64)),
                        ("ad_id", models.UUIDField(null=True)),
                        ("ad_name", models.CharField(blank=True, max_length=255)),
                        ("media_id", models.BigIntegerField()),
                        ("media_type", models.CharField(max_length=10)),
                        ("media_name", models.CharField(blank=True, max_length=255)),
                        ("plays", models.BigIntegerField()),
                        ("total_duration", models.FloatField()),
                    ],
                    options={
                        "verbose_name_plural": "hourly plays",
                        "indexes": [
                            models.Index(fields=["fleet_id", "screen_id", "hour"], name="stats_hourly_screen")
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("fleet_id", "hour", "screen_id", "ad_id", "media_id"),
                                name="stats_hourly_key",
                                nulls_distinct=False,
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(create_tables, drop_tables),
        migrations.RunPython(copy_legacy, migrations.RunPython.noop),
        migrations.DeleteModel("LegacyPlayEvent"),
    ]
