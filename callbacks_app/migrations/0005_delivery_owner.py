"""Each delivery names its account (the task's owner): the engine shares itself out by account."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_owner(apps, schema_editor):
    Delivery = apps.get_model("callbacks_app", "Delivery")
    Task = apps.get_model("tasks_app", "Task")
    Delivery.objects.update(
        owner_id=Subquery(Task.objects.filter(id=OuterRef("task_id")).values("owner_id")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("callbacks_app", "0004_delivery_in_flight_idx"),
        ("tasks_app", "0003_tags_and_idempotency_keys"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="owner",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="callback_deliveries",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(fill_owner, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="delivery",
            name="owner",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="callback_deliveries",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
    ]
