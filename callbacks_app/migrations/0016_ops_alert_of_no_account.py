import json

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def ops_alerts_of_no_account(apps, schema_editor):
    """The operators' alerts stored so far were filed as the alert's account's: they belong to none."""
    Delivery = apps.get_model("callbacks_app", "Delivery")
    Delivery.objects.filter(event="ops.alert").update(owner=None)


def ops_alerts_of_their_account(apps, schema_editor):
    """Back: each alert's account is in its payload (``data.account_id``); one whose account is gone
    is deleted (the column takes no NULL then)."""
    Delivery = apps.get_model("callbacks_app", "Delivery")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    for delivery_id, payload in Delivery.objects.filter(owner__isnull=True).values_list("id", "payload"):
        try:
            account_id = json.loads(payload)["data"]["account_id"]
        except (ValueError, KeyError, TypeError):
            account_id = None
        if account_id is not None and User.objects.filter(id=account_id).exists():
            Delivery.objects.filter(id=delivery_id).update(owner_id=account_id)
        else:
            Delivery.objects.filter(id=delivery_id).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("callbacks_app", "0015_operators_see_targets_projects_batches"),
        ("tasks_app", "0009_task_owner_no_index_of_its_own"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="delivery",
            name="owner",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="callback_deliveries",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(ops_alerts_of_no_account, ops_alerts_of_their_account, elidable=True),
        migrations.AddConstraint(
            model_name="delivery",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("owner__isnull", False), models.Q(("event", "ops.alert"), _negated=True)),
                    models.Q(("event", "ops.alert"), ("owner__isnull", True)),
                    _connector="OR",
                ),
                name="delivery_of_an_account_unless_an_operators_alert",
            ),
        ),
    ]
