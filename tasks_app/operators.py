"""Operators: the staff who run tasks and watch callbacks (SPEC §1, §5), one permission model.

An operator is a staff user in the "Operators" group. The group holds what the
admin's pages and actions ask for, and the operator API (``/v1/ops``,
``scalehooks.api.permissions.DeclaredPolicy``) asks for the same permission as the
admin's task actions (``OPERATE_PERMISSION``): a staff user outside the group
(or without that permission) sees neither. Superusers have every permission.

The group is created by a data migration (``tasks_app/migrations/0005_operators_group``);
``operators_group`` creates it again, with the same permissions, wherever it is missing.
"""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

OPERATORS_GROUP = "Operators"

# What the admin's task actions (complete, error, fix, recall, resend) require, and /v1/ops with them.
OPERATE_PERMISSION = "tasks_app.change_task"

# (app label, codename): the admin's pages (tasks, profiles, projects, batches, the ledger,
# callback targets, the dashboard, django-q2's job lists) and actions (task actions, key
# rotations, resend, pausing a target). Nothing adds or deletes.
OPERATOR_PERMISSIONS = (
    ("tasks_app", "view_task"),
    ("tasks_app", "change_task"),
    ("tasks_app", "view_profile"),
    ("tasks_app", "change_profile"),
    ("tasks_app", "view_project"),
    ("tasks_app", "view_batch"),
    ("callbacks_app", "view_targethealth"),
    ("callbacks_app", "change_targethealth"),
    ("auditlog", "view_logentry"),  # the audit trail (scalehooks/audit.py)
    ("callbacks_app", "view_delivery"),
    ("callbacks_app", "view_faileddelivery"),
    ("callbacks_app", "view_deliveryattempt"),
    ("callbacks_app", "view_emailconfirmation"),
    ("django_q", "view_success"),
    ("django_q", "view_failure"),
    ("django_q", "view_schedule"),
    ("django_q", "view_ormq"),
)


def operator_permissions(permission_model=Permission):
    """The permissions of the Operators group (those that exist: an app may not be installed)."""
    wanted = Q()
    for app_label, codename in OPERATOR_PERMISSIONS:
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    return permission_model.objects.filter(wanted)


def operators_group() -> Group:
    """The Operators group; created with its permissions if it does not exist (left as it is if it
    does: the migrations that change ``OPERATOR_PERMISSIONS`` update it)."""
    group, created = Group.objects.get_or_create(name=OPERATORS_GROUP)
    if created:
        group.permissions.set(operator_permissions())
    return group


def operator_add(*, user) -> None:
    """Make ``user`` an operator: staff, in the Operators group."""
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    user.groups.add(operators_group())
