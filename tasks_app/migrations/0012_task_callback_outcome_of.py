"""``Task.callback_outcome_of``: when the delivery whose outcome ``callback_succeeded`` shows was
created, filled from the ledger for the tasks that have an outcome (their newest delivery that
succeeded or failed)."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill(apps, schema_editor):
    Task = apps.get_model("tasks_app", "Task")
    Delivery = apps.get_model("callbacks_app", "Delivery")
    newest_finished = (
        Delivery.objects.filter(task_id=OuterRef("id"), status__in=("succeeded", "failed"))
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    Task.objects.filter(callback_succeeded__isnull=False).update(
        callback_outcome_of=Subquery(newest_finished)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("tasks_app", "0011_task_count"),
        ("callbacks_app", "0019_delivery_feed"),
    ]

    operations = [
        migrations.AddField(
            model_name="task",
            name="callback_outcome_of",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
