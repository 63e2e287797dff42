"""Each delivery names its target's origin: the per-origin caps count origins, not URL strings.

The in-flight index now holds the origin and the account, the columns the
count of sends in flight groups by, and the due index the account, which picking reads to look past one account's backlog (``engine.picking``).
"""

from collections import defaultdict

from django.db import migrations, models

from callbacks_app.targets import target_origin

BATCH = 2000


def fill_target_origin(apps, schema_editor):
    """The origin of every existing delivery, a batch of rows at a time (one UPDATE per origin of a batch)."""
    Delivery = apps.get_model("callbacks_app", "Delivery")
    last_id = ""
    while True:
        rows = list(
            Delivery.objects.filter(id__gt=last_id).order_by("id").values_list("id", "target")[:BATCH]
        )
        if not rows:
            break
        by_origin = defaultdict(list)
        for delivery_id, target in rows:
            by_origin[target_origin(target)].append(delivery_id)
        for origin, ids in by_origin.items():
            Delivery.objects.filter(id__in=ids).update(target_origin=origin)
        last_id = rows[-1][0]


class Migration(migrations.Migration):
    dependencies = [
        ("callbacks_app", "0008_delivery_batch"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="delivery",
            name="delivery_in_flight_idx",
        ),
        migrations.RemoveIndex(
            model_name="delivery",
            name="delivery_due_idx",
        ),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("status", "pending")),
                fields=["next_attempt_at", "owner"],
                name="delivery_due_idx",
            ),
        ),
        migrations.AddField(
            model_name="delivery",
            name="target_origin",
            field=models.CharField(blank=True, default="", max_length=300),
        ),
        migrations.RunPython(fill_target_origin, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("leased_until__isnull", False), ("status", "pending")),
                fields=["leased_until", "target_origin", "owner"],
                name="delivery_in_flight_origin_idx",
            ),
        ),
    ]
