"""The Operators group sees projects, batches, callback targets and the audit trail, and pauses and
resumes targets (the dashboard links to them; ``tasks_app.operators.OPERATOR_PERMISSIONS``)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

OPERATORS_GROUP = "Operators"
ADDED = (
    ("tasks_app", "view_project"),
    ("tasks_app", "view_batch"),
    ("callbacks_app", "view_targethealth"),
    ("callbacks_app", "change_targethealth"),
    ("auditlog", "view_logentry"),
)


def _permissions(apps):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    for app_label, codename in ADDED:
        permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
        if permission is not None:
            yield permission


def add(apps, schema_editor):
    group = apps.get_model("auth", "Group").objects.filter(name=OPERATORS_GROUP).first()
    if group is not None:
        group.permissions.add(*_permissions(apps))


def remove(apps, schema_editor):
    group = apps.get_model("auth", "Group").objects.filter(name=OPERATORS_GROUP).first()
    if group is not None:
        group.permissions.remove(*_permissions(apps))


class Migration(migrations.Migration):
    dependencies = [
        ("callbacks_app", "0014_no_redundant_indexes"),
        ("tasks_app", "0009_task_owner_no_index_of_its_own"),
        ("auditlog", "0017_add_actor_email"),
    ]

    operations = [migrations.RunPython(add, remove)]
