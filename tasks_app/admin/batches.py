"""Operators' admin for projects and batches (SPEC §12): read-only lists with filters, links to
their tasks, and the batch's resend button (``callback_batch_resend``)."""

from urllib.parse import urlencode

from django.contrib import admin
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.html import format_html

from callbacks_app.admin_actions import ResendButtonMixin, resend_batches
from callbacks_app.resends import callback_batch_resend
from tasks_app.admin.tasks import DeliveryInline, ModeFilter
from tasks_app.keys import Mode
from tasks_app.models import Batch, Project


def tasks_link(*, owner_id, is_test: bool, field: str, name: str):
    """A link to the task list filtered on the project or batch ``name`` of that account and mode."""
    query = urlencode(
        {field: name, "owner__id__exact": owner_id, "mode": Mode.TEST if is_test else Mode.LIVE}
    )
    return format_html('<a href="{}?{}">tasks</a>', reverse("admin:tasks_app_task_changelist"), query)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Projects and batches change through the API only: the admin shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Project)
class ProjectAdmin(ReadOnlyAdmin):
    list_display = ("name", "type", "mode", "owner", "created_at", "task_list")
    list_filter = ("type", ModeFilter, ("owner", admin.RelatedOnlyFieldListFilter), "created_at")
    search_fields = ("name",)
    list_select_related = ("owner",)
    readonly_fields = ("name", "type", "mode", "owner", "params", "param_history", "created_at", "task_list")
    fields = readonly_fields

    @admin.display(description="tasks")
    def task_list(self, obj):
        return tasks_link(owner_id=obj.owner_id, is_test=obj.is_test, field="project", name=obj.name)


@admin.register(Batch)
class BatchAdmin(ResendButtonMixin, ReadOnlyAdmin):
    list_display = ("name", "project", "status", "mode", "owner", "created_at", "completed_at", "task_list")
    list_filter = ("status", ModeFilter, ("owner", admin.RelatedOnlyFieldListFilter), "created_at")
    search_fields = ("name", "project__name")
    list_select_related = ("owner", "project")
    readonly_fields = (
        "name",
        "project",
        "status",
        "mode",
        "owner",
        "callback",
        "metadata",
        "calibration_batch",
        "self_label_batch",
        "created_at",
        "finalized_at",
        "completed_at",
        "task_list",
    )
    fields = readonly_fields
    actions = ["resend_callbacks"]
    inlines = [DeliveryInline]  # its batch.completed callbacks
    change_form_template = "admin/tasks_app/batch/change_form.html"

    @admin.display(description="tasks")
    def task_list(self, obj):
        return tasks_link(owner_id=obj.owner_id, is_test=obj.is_test, field="batch", name=obj.name)

    @admin.action(
        description="Resend the batch.completed callback of the selected batches", permissions=["resend"]
    )
    def resend_callbacks(self, request, queryset):
        resend_batches(self, request, list(queryset.values_list("id", flat=True)))

    def resend_one(self, object_id):
        """This batch's ``batch.completed`` callback, sent again."""
        batch = get_object_or_404(Batch.objects.only("id", "name"), pk=object_id)
        return callback_batch_resend(batch_id=batch.id), f"batch {batch.name}"
