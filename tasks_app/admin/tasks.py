"""Operators' admin for tasks (SPEC §5, §6.7; STYLE 12).

Nothing here changes a task's state itself: every operator action calls the
lifecycle service (``tasks_app.services``) or ``callback_resend``, and a
refused change (``TaskStateConflict``, ``NoCallbackTarget``) is reported to the
operator with the task left as it was. Task fields are read-only in the admin
for that reason.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from callbacks_app.admin_actions import REFUSALS, report_counts, resend_tasks
from callbacks_app.admin_display import delivery_outcome, with_outcome
from callbacks_app.models import Delivery
from callbacks_app.resends import callback_resend
from callbacks_app.task_targets import callback_target, task_callback_note
from scalehooks.admin_inlines import ReadOnlyTabularInline
from scalehooks.audit import audit_trail, audit_trail_html
from scalehooks.json_input import JSONFormField
from tasks_app import services
from tasks_app.keys import Mode
from tasks_app.models import Task


class ModeFilter(admin.SimpleListFilter):
    title = "mode"
    parameter_name = "mode"

    def lookups(self, request, model_admin):
        return Mode.choices

    def queryset(self, request, queryset):
        if self.value() in Mode.values:
            return queryset.filter(is_test=self.value() == Mode.TEST)
        return queryset


class AuditStatusFilter(admin.SimpleListFilter):
    title = "audit status"
    parameter_name = "audit"
    NOT_AUDITED = "none"

    def lookups(self, request, model_admin):
        return [(self.NOT_AUDITED, "Not audited"), *Task.AuditResult.choices]

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.NOT_AUDITED:
            return queryset.filter(customer_review_status="")
        if value in Task.AuditResult.values:
            return queryset.filter(customer_review_status=value)
        return queryset


class ResponseForm(forms.Form):
    response = JSONFormField(
        widget=forms.Textarea(attrs={"rows": 12, "cols": 80, "class": "vLargeTextField"}),
        help_text="The task's response as a JSON object, validated for the task's type.",
    )


class ErrorForm(forms.Form):
    error = forms.CharField(
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80, "class": "vLargeTextField"}),
        help_text="Why the task failed; sent to the customer in the error callback.",
    )


class DeliveryInline(ReadOnlyTabularInline):
    model = Delivery
    fields = ("delivery_link", "event", "outcome", "target", "created_at", "finished_at")
    readonly_fields = fields
    show_change_link = False
    ordering = ("-created_at",)

    def get_queryset(self, request):
        return with_outcome(super().get_queryset(request).defer("payload"))

    @admin.display(description="outcome")
    def outcome(self, obj):
        return delivery_outcome(obj)

    @admin.display(description="delivery")
    def delivery_link(self, obj):
        url = reverse("admin:callbacks_app_delivery_change", args=[quote(obj.pk)])
        return format_html('<a href="{}">{}</a>', url, obj.pk)


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "type",
        "status",
        "mode",
        "owner",
        "callback_succeeded",
        "created_at",
        "completed_at",
    )
    list_filter = (
        "status",
        "type",
        ModeFilter,
        "callback_succeeded",
        AuditStatusFilter,
        ("owner", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("=id", "=unique_id", "callback_url")
    search_help_text = "Task id or unique_id (exact), or part of the callback URL."
    list_select_related = ("owner",)
    show_full_result_count = False
    actions = ["resend_callbacks", "recall_tasks"]
    inlines = [DeliveryInline]
    change_form_template = "admin/tasks_app/task/change_form.html"
    readonly_fields = (
        "id",
        "owner",
        "mode",
        "type",
        "status",
        "instruction",
        "params",
        "response",
        "callback_url",
        "callback",
        "callback_succeeded",
        "callback_succeeded_at",
        "metadata",
        "tags",
        "unique_id",
        "project",
        "batch",
        "audits",
        "customer_review_status",
        "customer_review_comments",
        "prior_responses",
        "created_at",
        "updated_at",
        "completed_at",
        "history",
    )
    fields = readonly_fields
    HEAVY = (
        "instruction",
        "params",
        "response",
        "metadata",
        "audits",
        "prior_responses",
        "customer_review_comments",
    )

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("changelist"):
            queryset = queryset.defer(*self.HEAVY)
        return queryset

    def has_add_permission(self, request):
        return False  # tasks are created through the API

    def has_delete_permission(self, request, obj=None):
        return False  # their deliveries are history (STYLE 1)

    @admin.display(description="mode", ordering="is_test")
    def mode(self, obj):
        return obj.mode

    @admin.display(description="history (newest first)")
    def history(self, obj):
        return audit_trail_html(audit_trail(target=obj)[:50])

    @admin.display(description="callback")
    def callback(self, obj):
        """Where its callbacks go, or why none went out (a task completed with no target)."""
        return task_callback_note(task=obj) or callback_target(obj) or "—"

    # Operator actions: one URL per action on the task's page, and bulk actions.

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/complete/", view(self.complete_view), name=f"{prefix}_complete"),
            path("<path:object_id>/error/", view(self.error_view), name=f"{prefix}_error"),
            path("<path:object_id>/fix/", view(self.fix_view), name=f"{prefix}_fix"),
            path("<path:object_id>/recall/", view(self.recall_view), name=f"{prefix}_recall"),
            path("<path:object_id>/resend/", view(self.resend_view), name=f"{prefix}_resend"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def _task_for_action(self, request, object_id) -> Task:
        task = get_object_or_404(
            Task.objects.only("id", "type", "status", "owner_id", "is_test"), pk=unquote(object_id)
        )
        if not self.has_change_permission(request, task):
            raise PermissionDenied
        return task

    def _back_to_task(self, task_id):
        return HttpResponseRedirect(reverse("admin:tasks_app_task_change", args=[quote(task_id)]))

    def _service_form_view(self, request, object_id, *, action, form_class, call, title, done):
        """A form page (response JSON or error text) whose valid submission calls ``call``."""
        task = self._task_for_action(request, object_id)
        form = form_class(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                call(task.id, form.cleaned_data)
            except REFUSALS as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return self._back_to_task(task.id)
            except ValidationError as exc:
                field = next(iter(form.fields))
                for message in exc.messages:
                    form.add_error(field, message)
            else:
                self._done(request, task, action, done)
                return self._back_to_task(task.id)
        context = {
            **self.admin_site.each_context(request),
            "title": title.format(task=task),
            "opts": self.opts,
            "original": task,
            "form": form,
            "action": action,
            "has_view_permission": True,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/tasks_app/task/operator_form.html", context)

    def complete_view(self, request, object_id):
        return self._service_form_view(
            request,
            object_id,
            action="complete",
            form_class=ResponseForm,
            call=lambda task_id, data: services.task_complete(task_id=task_id, response=data["response"]),
            title="Complete task {task.id}",
            done="Completed task {task.id}; its callback is queued.",
        )

    def error_view(self, request, object_id):
        return self._service_form_view(
            request,
            object_id,
            action="error",
            form_class=ErrorForm,
            call=lambda task_id, data: services.task_error(task_id=task_id, error=data["error"]),
            title="Mark task {task.id} as error",
            done="Marked task {task.id} as error; its callback is queued.",
        )

    def fix_view(self, request, object_id):
        return self._service_form_view(
            request,
            object_id,
            action="fix",
            form_class=ResponseForm,
            call=lambda task_id, data: services.task_fix(task_id=task_id, response=data["response"]),
            title="Fix the response of task {task.id}",
            done="Fixed task {task.id}; its audit callback is queued.",
        )

    def _post_action_view(self, request, object_id, *, action, call, done):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        task = self._task_for_action(request, object_id)
        try:
            call(task.id)
        except REFUSALS as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self._done(request, task, action, done)
        return self._back_to_task(task.id)

    def _done(self, request, task: Task, action: str, done: str) -> None:
        """Say it, and keep it: the admin's "Recent actions", and the audit trail (a resend is
        recorded by its service)."""
        message = done.format(task=task)
        self.message_user(request, message, messages.SUCCESS)
        self.log_change(request, task, message)
        if action != "resend":
            task.refresh_from_db(fields=["status"])
            services.task_operator_action_record(task=task, action=action)

    def recall_view(self, request, object_id):
        return self._post_action_view(
            request,
            object_id,
            action="recall",
            call=lambda task_id: services.task_recall(task_id=task_id),
            done="Recalled task {task.id} to pending; its callback is queued.",
        )

    def resend_view(self, request, object_id):
        return self._post_action_view(
            request,
            object_id,
            action="resend",
            call=lambda task_id: callback_resend(task_id=task_id),
            done="Resent the callback of task {task.id}.",
        )

    @admin.action(description="Resend the callback of the selected tasks", permissions=["change"])
    def resend_callbacks(self, request, queryset):
        resend_tasks(self, request, queryset.values_list("id", flat=True))

    @admin.action(description="Recall the selected tasks to pending", permissions=["change"])
    def recall_tasks(self, request, queryset):
        recalled, refused = 0, []
        for task_id in queryset.values_list("id", flat=True):
            try:
                task = services.task_recall(task_id=task_id)
            except REFUSALS as exc:
                refused.append(str(exc))
            else:
                recalled += 1
                self.log_change(request, task, "Recalled to pending (bulk action).")
                services.task_operator_action_record(task=task, action="recall")
        report_counts(self, request, done=recalled, refused=refused, verb="Recalled")
