"""The feed's position of a delivery (SPEC §17, ``callbacks_app.models.feed``), and ``not_sent``.

PostgreSQL: a sequence, then the two columns with their database defaults (the inserting
transaction's id, the sequence's next number). SQLite: the columns (0 and NULL), then a
one-row counter table and a trigger that numbers each new row from it in commit order; the
rows already there are numbered in their insertion order.
"""

from django.conf import settings
from django.db import migrations, models

import callbacks_app.models.feed
from callbacks_app.models.feed import FEED_COUNTER_TABLE, FEED_SEQUENCE, FEED_TRIGGER

DELIVERY_TABLE = "callbacks_app_delivery"


def sequence_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"CREATE SEQUENCE IF NOT EXISTS {FEED_SEQUENCE}")


def sequence_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP SEQUENCE IF EXISTS {FEED_SEQUENCE}")


def numbering_create(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    execute = schema_editor.execute
    execute(f"CREATE TABLE {FEED_COUNTER_TABLE} (id integer NOT NULL PRIMARY KEY, seq bigint NOT NULL)")
    execute(f"UPDATE {DELIVERY_TABLE} SET feed_seq = rowid")
    execute(
        f"INSERT INTO {FEED_COUNTER_TABLE} (id, seq) SELECT 1, COALESCE(MAX(feed_seq), 0) FROM {DELIVERY_TABLE}"
    )
    execute(
        f"CREATE TRIGGER {FEED_TRIGGER} AFTER INSERT ON {DELIVERY_TABLE} BEGIN "
        f"UPDATE {FEED_COUNTER_TABLE} SET seq = seq + 1 WHERE id = 1; "
        f"UPDATE {DELIVERY_TABLE} SET feed_seq = (SELECT seq FROM {FEED_COUNTER_TABLE} WHERE id = 1) "
        "WHERE rowid = NEW.rowid; END"
    )


def numbering_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {FEED_TRIGGER}")
    schema_editor.execute(f"DROP TABLE IF EXISTS {FEED_COUNTER_TABLE}")


class Migration(migrations.Migration):
    dependencies = [
        ("callbacks_app", "0018_alert_fan_out_lease"),
        ("tasks_app", "0010_invitations"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(sequence_create, sequence_drop),
        migrations.AddField(
            model_name="delivery",
            name="feed_seq",
            field=models.BigIntegerField(
                db_default=callbacks_app.models.feed.FeedSeq(), editable=False, null=True
            ),
        ),
        migrations.AddField(
            model_name="delivery",
            name="feed_xid",
            field=models.BigIntegerField(db_default=callbacks_app.models.feed.FeedXid(), editable=False),
        ),
        migrations.RunPython(numbering_create, numbering_drop),
        migrations.AlterField(
            model_name="delivery",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("succeeded", "Succeeded"),
                    ("failed", "Failed"),
                    ("superseded", "Superseded"),
                    ("not_sent", "Not sent (no target)"),
                ],
                default="pending",
                max_length=16,
            ),
        ),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(fields=["owner", "is_test", "feed_xid", "feed_seq"], name="delivery_feed_idx"),
        ),
    ]
