"""Operators' admin for tasks and accounts (SPEC §5, §6.7; STYLE 12).

Nothing here changes a task's state itself: every operator action calls the
lifecycle service (``tasks_app.services``) or ``callback_resend``, and an
illegal change (``TaskStateConflict``) is reported to the operator with the
task left as it was. Task fields are read-only in the admin for that reason.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from rest_framework import serializers

from callbacks_app.models import Delivery
from callbacks_app.services import callback_resend
from tasks_app import accounts, services
from tasks_app.errors import NoCallbackTarget, TaskStateConflict
from tasks_app.keys import Mode, mask_secret
from tasks_app.models import Profile, Task
from tasks_app.validators import validate_callback_target
from scalehooks.admin_inlines import ReadOnlyTabularInline

# Domain refusals an operator action reports as an error message, changing nothing.
REFUSALS = (TaskStateConflict, NoCallbackTarget)


def validation_messages(detail) -> list[str]:
    """The flat list of messages of a DRF ``ValidationError.detail``."""
    if isinstance(detail, dict):
        return [m for value in detail.values() for m in validation_messages(value)]
    if isinstance(detail, (list, tuple)):
        return [m for value in detail for m in validation_messages(value)]
    return [str(detail)]


def resend_tasks(modeladmin, request, task_ids) -> None:
    """Resend the callback of each task; report how many were queued and why others were refused."""
    queued, refused = 0, []
    for task_id in task_ids:
        try:
            callback_resend(task_id=task_id)
        except REFUSALS as exc:
            refused.append(str(exc))
        else:
            queued += 1
    report_counts(modeladmin, request, done=queued, refused=refused, verb="Resent the callback of")


def report_counts(modeladmin, request, *, done: int, refused: list[str], verb: str) -> None:
    if done:
        modeladmin.message_user(
            request, f"{verb} {done} task{'s' if done != 1 else ''}.", messages.SUCCESS
        )
    if refused:
        shown = " ".join(refused[:5]) + (f" (and {len(refused) - 5} more)" if len(refused) > 5 else "")
        modeladmin.message_user(
            request,
            f"Refused for {len(refused)} task{'s' if len(refused) != 1 else ''}: {shown}",
            messages.ERROR,
        )


# --- Tasks ----------------------------------------------------------------------


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
        return [
            (self.NOT_AUDITED, "Not audited"),
            ("accepted", "Accepted"),
            ("rejected", "Rejected"),
            ("fixed", "Fixed"),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == self.NOT_AUDITED:
            return queryset.filter(customer_review_status="")
        if value in ("accepted", "rejected", "fixed"):
            return queryset.filter(customer_review_status=value)
        return queryset


class ResponseForm(forms.Form):
    response = forms.JSONField(
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
    fields = ("delivery_link", "event", "status", "attempt_count", "target", "created_at", "finished_at")
    readonly_fields = fields
    show_change_link = False
    ordering = ("-created_at",)

    def get_queryset(self, request):
        return super().get_queryset(request).defer("payload")

    @admin.display(description="delivery")
    def delivery_link(self, obj):
        url = reverse("admin:callbacks_app_delivery_change", args=[quote(obj.pk)])
        return format_html('<a href="{}">{}</a>', url, obj.pk)


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = (
        "id", "type", "status", "mode", "owner", "callback_succeeded", "created_at", "completed_at",
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
        "id", "owner", "mode", "type", "status", "instruction", "params", "response",
        "callback_url", "callback_succeeded", "callback_succeeded_at", "metadata", "tags",
        "unique_id", "project", "batch", "audits", "customer_review_status",
        "customer_review_comments", "prior_responses", "created_at", "updated_at", "completed_at",
    )
    fields = readonly_fields
    HEAVY = ("instruction", "params", "response", "metadata", "audits", "prior_responses",
             "customer_review_comments")

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

    # Operator actions: one URL per action on the task's page, and bulk actions.

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/complete/", view(self.complete_view), name="%s_%s_complete" % info),
            path("<path:object_id>/error/", view(self.error_view), name="%s_%s_error" % info),
            path("<path:object_id>/fix/", view(self.fix_view), name="%s_%s_fix" % info),
            path("<path:object_id>/recall/", view(self.recall_view), name="%s_%s_recall" % info),
            path("<path:object_id>/resend/", view(self.resend_view), name="%s_%s_resend" % info),
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
        task = get_object_or_404(Task.objects.only("id", "type", "status"), pk=unquote(object_id))
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
            except serializers.ValidationError as exc:
                field = next(iter(form.fields))
                for message in validation_messages(exc.detail):
                    form.add_error(field, message)
            else:
                self.message_user(request, done.format(task=task), messages.SUCCESS)
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
            request, object_id, action="complete", form_class=ResponseForm,
            call=lambda task_id, data: services.task_complete(task_id=task_id, response=data["response"]),
            title="Complete task {task.id}", done="Completed task {task.id}; its callback is queued.",
        )

    def error_view(self, request, object_id):
        return self._service_form_view(
            request, object_id, action="error", form_class=ErrorForm,
            call=lambda task_id, data: services.task_error(task_id=task_id, error=data["error"]),
            title="Mark task {task.id} as error", done="Marked task {task.id} as error; its callback is queued.",
        )

    def fix_view(self, request, object_id):
        return self._service_form_view(
            request, object_id, action="fix", form_class=ResponseForm,
            call=lambda task_id, data: services.task_fix(task_id=task_id, response=data["response"]),
            title="Fix the response of task {task.id}", done="Fixed task {task.id}; its audit callback is queued.",
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
            self.message_user(request, done.format(task=task), messages.SUCCESS)
        return self._back_to_task(task.id)

    def recall_view(self, request, object_id):
        return self._post_action_view(
            request, object_id, action="recall",
            call=lambda task_id: services.task_recall(task_id=task_id),
            done="Recalled task {task.id} to pending; its callback is queued.",
        )

    def resend_view(self, request, object_id):
        return self._post_action_view(
            request, object_id, action="resend",
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
                services.task_recall(task_id=task_id)
            except REFUSALS as exc:
                refused.append(str(exc))
            else:
                recalled += 1
        report_counts(self, request, done=recalled, refused=refused, verb="Recalled")


# --- Profiles -------------------------------------------------------------------


class ProfileForm(forms.ModelForm):
    class Meta:
        model = Profile
        fields = ("default_callback_url",)

    def clean_default_callback_url(self):
        value = self.cleaned_data["default_callback_url"]
        try:
            return validate_callback_target(value)
        except serializers.ValidationError as exc:
            raise forms.ValidationError(validation_messages(exc.detail)) from None


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    form = ProfileForm
    list_display = ("user", "default_callback_url", "live_api_key", "test_api_key", "created_at")
    search_fields = ("user__email", "user__username", "default_callback_url")
    list_select_related = ("user",)
    fields = (
        "user", "default_callback_url", "live_api_key", "test_api_key",
        "live_callback_auth_key_masked", "test_callback_auth_key_masked", "signing_secret_masked",
        "previous_signing_secret_expires_at", "created_at",
    )
    readonly_fields = tuple(f for f in fields if f != "default_callback_url")
    actions = [
        "rotate_api_keys", "rotate_live_callback_auth_key", "rotate_test_callback_auth_key",
        "rotate_signing_secret",
    ]

    def has_add_permission(self, request):
        return False  # accounts are created with `manage.py create_account`, which issues keys

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="live API key")
    def live_api_key(self, obj):
        return obj.live_api_key_prefix + "…" if obj.live_api_key_prefix else "–"

    @admin.display(description="test API key")
    def test_api_key(self, obj):
        return obj.test_api_key_prefix + "…" if obj.test_api_key_prefix else "–"

    @admin.display(description="live callback auth key")
    def live_callback_auth_key_masked(self, obj):
        return mask_secret(obj.live_callback_auth_key)

    @admin.display(description="test callback auth key")
    def test_callback_auth_key_masked(self, obj):
        return mask_secret(obj.test_callback_auth_key)

    @admin.display(description="signing secret")
    def signing_secret_masked(self, obj):
        return mask_secret(obj.signing_secret)

    @admin.action(description="Rotate API keys (shown once)", permissions=["change"])
    def rotate_api_keys(self, request, queryset):
        issued = [
            (profile, accounts.api_keys_rotate(profile=profile))
            for profile in queryset.select_related("user")
        ]
        self.message_user(
            request,
            f"Rotated the API keys of {len(issued)} account{'s' if len(issued) != 1 else ''}; "
            "the old keys no longer work.",
            messages.SUCCESS,
        )
        context = {
            **self.admin_site.each_context(request),
            "title": "New API keys",
            "opts": self.opts,
            "issued": issued,
        }
        response = TemplateResponse(request, "admin/tasks_app/profile/rotated_keys.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def _rotate_callback_auth_key(self, request, queryset, mode):
        count = 0
        for profile in queryset:
            accounts.callback_auth_key_rotate(profile=profile, mode=mode)
            count += 1
        self.message_user(
            request,
            f"Rotated the {mode} callback auth key of {count} account{'s' if count != 1 else ''}; "
            "callbacks sent from now on carry the new key (customers read it from GET /v1/profile).",
            messages.SUCCESS,
        )

    @admin.action(description="Rotate the live callback auth key", permissions=["change"])
    def rotate_live_callback_auth_key(self, request, queryset):
        self._rotate_callback_auth_key(request, queryset, Mode.LIVE)

    @admin.action(description="Rotate the test callback auth key", permissions=["change"])
    def rotate_test_callback_auth_key(self, request, queryset):
        self._rotate_callback_auth_key(request, queryset, Mode.TEST)

    @admin.action(description="Rotate the signing secret (old one valid 24 h)", permissions=["change"])
    def rotate_signing_secret(self, request, queryset):
        count = 0
        for profile in queryset:
            accounts.signing_secret_rotate(profile=profile)
            count += 1
        self.message_user(
            request,
            f"Rotated the signing secret of {count} account{'s' if count != 1 else ''}; "
            "the previous secret keeps signing for 24 hours.",
            messages.SUCCESS,
        )
