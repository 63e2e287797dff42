"""The "Operators" group, with what the admin's pages and actions need (issue 16, SPEC §5).

Staff accounts made by ``create_account --staff`` before this migration (staff
users with a profile, not superusers) join the group: they were made to be
operators, and ``/v1/ops`` now asks for the group's permission rather than
``is_staff``. Staff users made otherwise keep the permissions they were given.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

OPERATORS_GROUP = "Operators"
# A copy of tasks_app.operators.OPERATOR_PERMISSIONS as of this migration.
OPERATOR_PERMISSIONS = (
    ("tasks_app", "view_task"),
    ("tasks_app", "change_task"),
    ("tasks_app", "view_profile"),
    ("tasks_app", "change_profile"),
    ("callbacks_app", "view_delivery"),
    ("callbacks_app", "view_faileddelivery"),
    ("callbacks_app", "view_deliveryattempt"),
    ("callbacks_app", "view_emailconfirmation"),
    ("django_q", "view_success"),
    ("django_q", "view_failure"),
    ("django_q", "view_schedule"),
    ("django_q", "view_ormq"),
)


def create_operators_group(apps, schema_editor):
    # Permissions are made by post_migrate, after every migration: make them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    User = apps.get_model("auth", "User")
    group, _ = Group.objects.get_or_create(name=OPERATORS_GROUP)
    for app_label, codename in OPERATOR_PERMISSIONS:
        permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
        if permission is not None:
            group.permissions.add(permission)
    for user in User.objects.filter(is_staff=True, is_superuser=False, profile__isnull=False):
        user.groups.add(group)


def remove_operators_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=OPERATORS_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tasks_app", "0004_profile_settings_per_mode"),
        ("callbacks_app", "0007_email_confirmation"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_operators_group, remove_operators_group)]
