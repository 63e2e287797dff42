"""The delivery ledger in the admin: read-only, with attempts inline (SPEC §6.8; STYLE 12).

Deliveries and attempts are history: they cannot be added, changed or
deleted here. The one thing an operator does from a delivery is resend its
task's callback, through ``callback_resend``.
"""

import functools
import json

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Value, When
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import truncatechars
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html

from callbacks_app.admin_actions import ResendButtonMixin, resend_batches, resend_tasks
from callbacks_app.admin_display import delivery_outcome, with_outcome
from callbacks_app.admin_filters import AccountFilter, ModeFilter, RetryingFilter
from callbacks_app.errors import NoCallbackTarget
from callbacks_app.models import Delivery, DeliveryAttempt, EmailConfirmation, FailedDelivery, TargetHealth
from callbacks_app.pausing import target_pause_set, target_waiting_release
from callbacks_app.payloads import payload_indented
from callbacks_app.resends import callback_batch_resend, callback_resend
from scalehooks.admin_inlines import ReadOnlyTabularInline
from scalehooks.errors import IllegalStateChange

RESPONSE_EXCERPT_SHOWN = 300  # characters of the stored 4 KiB shown in the attempts table


class AttemptInline(ReadOnlyTabularInline):
    model = DeliveryAttempt
    fields = ("number", "started_at", "outcome", "duration", "response", "headers")
    readonly_fields = fields
    ordering = ("number",)

    @admin.display(description="HTTP status or error")
    def outcome(self, obj):
        if obj.status_code is not None:
            text = f"HTTP {obj.status_code}"
            if obj.error and obj.error != text:
                text += f" — {obj.error}"
        else:
            text = obj.error or "—"
        if obj.private_target:
            text += " (private target: error and excerpt hidden from the customer)"
        css = "attempt-ok" if obj.succeeded else "attempt-failed"
        return format_html('<span class="{}">{}</span>', css, text)

    @admin.display(description="duration")
    def duration(self, obj):
        return f"{obj.duration_ms} ms"

    @admin.display(description="response excerpt")
    def response(self, obj):
        if not obj.response_excerpt:
            return "—"
        return format_html(
            '<pre class="response-excerpt" title="{}">{}</pre>',
            obj.response_excerpt,
            truncatechars(obj.response_excerpt, RESPONSE_EXCERPT_SHOWN),
        )

    @admin.display(description="request headers (secrets masked)")
    def headers(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.request_headers, indent=1, sort_keys=True))


@admin.register(Delivery)
class DeliveryAdmin(ResendButtonMixin, admin.ModelAdmin):
    # Narrow enough for the admin's content area: the outcome column says the attempts, the last
    # error and the next attempt; the page has every field.
    list_display = ("delivery", "event", "outcome", "target_and_time")
    list_display_links = None  # the delivery column links to the delivery (and to its task)
    change_list_template = "admin/callbacks_app/delivery/change_list.html"
    list_filter = (
        "status",
        RetryingFilter,
        "event",
        AccountFilter,
        ModeFilter,
        "target_kind",
        "created_at",
    )
    search_fields = ("=id", "=task__id", "target")
    search_help_text = "Delivery id or task id (exact), or part of the target."
    show_full_result_count = False
    list_select_related = ()  # the task column shows ``task_id``: no join needed
    fields = (
        "id",
        "task_link",
        "event",
        "status",
        "target",
        "target_kind",
        "attempt_count",
        "first_attempt_at",
        "next_attempt_at",
        "leased_until",
        "created_at",
        "finished_at",
        "pretty_payload",
    )
    readonly_fields = fields
    inlines = [AttemptInline]
    actions = ["resend_callbacks"]
    change_form_template = "admin/callbacks_app/delivery/change_form.html"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("changelist"):
            queryset = with_outcome(queryset.defer("payload"))
        return queryset

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="task or batch", ordering="task_id")
    def task_link(self, obj):
        if obj.task_id is None and obj.batch_id is None:
            if obj.is_ops_alert:
                return "operators' alert"  # to OPS_WEBHOOK_URLS (callbacks_app.alerts)
            return "test callback"  # a callback.test from the portal: no task, no batch
        if obj.task_id is None:  # a batch's callback
            url = reverse("admin:tasks_app_batch_change", args=[quote(obj.batch_id)])
            return format_html('<a href="{}">batch {}</a>', url, obj.batch_id)
        url = reverse("admin:tasks_app_task_change", args=[quote(obj.task_id)])
        return format_html('<a href="{}">{}</a>', url, obj.task_id)

    @admin.display(description="delivery, task or batch", ordering="id")
    def delivery(self, obj):
        url = reverse("admin:callbacks_app_delivery_change", args=[quote(obj.pk)])
        return format_html('<a href="{}">{}</a><br><small>{}</small>', url, obj.pk, self.task_link(obj))

    @admin.display(description="target, created", ordering="created_at")
    def target_and_time(self, obj):
        created = formats.localize(timezone.template_localtime(obj.created_at))
        return format_html(
            '<span title="{}">{}</span><br><small class="nowrap">{}</small>',
            obj.target,
            truncatechars(obj.target, 60),
            created,
        )

    @admin.display(description="outcome", ordering="status")
    def outcome(self, obj):
        return delivery_outcome(obj)

    @admin.display(description="payload")
    def pretty_payload(self, obj):
        """The frozen bytes every attempt sends, as they are; indented below, keys in the same order."""
        return format_html(
            '<p class="help">Frozen: every attempt sends these {} bytes (UTF-8).</p>'
            '<pre class="payload" id="payload-bytes">{}</pre>'
            "<details><summary>Indented for reading (same keys, same order)</summary>"
            '<pre class="payload">{}</pre></details>',
            len(obj.payload.encode()),
            obj.payload,
            payload_indented(obj.payload),
        )

    @admin.action(description="Resend the callback of the selected deliveries' tasks", permissions=["resend"])
    def resend_callbacks(self, request, queryset):
        task_ids = queryset.filter(task__isnull=False).order_by().values_list("task_id", flat=True).distinct()
        resend_tasks(self, request, list(task_ids))
        batch_ids = (
            queryset.filter(batch__isnull=False).order_by().values_list("batch_id", flat=True).distinct()
        )
        if batch_ids:
            resend_batches(self, request, list(batch_ids))

    def resend_one(self, object_id):
        """The callback of this delivery's task (or batch), sent again as it is now."""
        delivery = get_object_or_404(
            Delivery.objects.only("id", "event", "task_id", "batch_id"), pk=object_id
        )
        if delivery.is_ops_alert:
            raise IllegalStateChange(
                "An operators' alert is not resent: its engine retries it like any callback."
            )
        if delivery.task_id is None and delivery.batch_id is None:
            raise NoCallbackTarget(
                "A test callback has no task or batch to resend: send a new one from the portal."
            )
        if delivery.task_id is None:
            return callback_batch_resend(batch_id=delivery.batch_id), f"batch {delivery.batch_id}"
        return callback_resend(task_id=delivery.task_id), f"task {delivery.task_id}"


@admin.register(FailedDelivery)
class FailedDeliveryAdmin(DeliveryAdmin):
    """Deliveries that exhausted their retries (or got 410 Gone): what to look at and resend."""

    list_filter = ("event", "target_kind", "created_at", "finished_at")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(status=Delivery.Status.FAILED)


@admin.register(EmailConfirmation)
class EmailConfirmationAdmin(admin.ModelAdmin):
    """Email addresses accounts send callbacks to, and whether their holders confirmed them
    (``callbacks_app.confirmations``). Read-only: only the holder confirms, through the link."""

    list_display = ("address", "owner", "created_at", "sent_at", "confirmed_at")
    list_filter = (("confirmed_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("address", "owner__username")
    list_select_related = ("owner",)
    fields = ("address", "owner", "created_at", "requested_at", "sent_at", "confirmed_at")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TargetHealth)
class TargetHealthAdmin(admin.ModelAdmin):
    """Callback targets' health (SPEC §16): failing and paused first; pause and resume call
    ``callbacks_app.pausing.target_pause_set``, as the API does. Otherwise read-only: the
    recording keeps it."""

    list_display = (
        "origin",
        "owner",
        "mode",
        "state",
        "consecutive_failures",
        "last_error_class",
        "last_status_code",
        "first_failure_at",
        "last_success_at",
    )
    list_filter = ("state", "mode", ("owner", admin.RelatedOnlyFieldListFilter), "last_error_class")
    search_fields = ("origin", "owner__username", "owner__email")
    list_select_related = ("owner",)
    readonly_fields = [field.name for field in TargetHealth._meta.fields]
    actions = ("pause_targets", "resume_targets", "retry_waiting_now")

    def get_ordering(self, request):
        unwell_first = Case(When(state=TargetHealth.State.HEALTHY, then=Value(1)), default=Value(0))
        return (unwell_first, "origin")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    change_form_template = "admin/callbacks_app/targethealth/change_form.html"

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path(
                "<path:object_id>/pause/",
                self.admin_site.admin_view(functools.partial(self.pause_view, paused=True)),
                name=f"{prefix}_pause",
            ),
            path(
                "<path:object_id>/resume/",
                self.admin_site.admin_view(functools.partial(self.pause_view, paused=False)),
                name=f"{prefix}_resume",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Nothing on the page is edited (the recording keeps the row): its buttons pause and resume.
        extra_context = {
            **(extra_context or {}),
            "title": "Callback target",  # nothing on it is edited
            "can_pause": self.has_change_permission(request),
            "probe_minutes": settings.CALLBACK_TARGET_PROBE_MINUTES,
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def pause_view(self, request, object_id, *, paused: bool):
        """Pause or resume one target from its page (a POST), then show the page again."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        target = get_object_or_404(TargetHealth, pk=unquote(object_id))
        try:
            target_pause_set(target=target, paused=paused, by=f"operator {request.user.username}")
        except IllegalStateChange as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            verb = "Paused" if paused else "Resumed"
            follows = (
                "its callbacks wait without spending retries, one probe every "
                f"{settings.CALLBACK_TARGET_PROBE_MINUTES:g} minutes"
                if paused
                else "its waiting callbacks go out now"
            )
            self.message_user(request, f"{verb} {target.origin}: {follows}.", messages.SUCCESS)
        return HttpResponseRedirect(
            reverse("admin:callbacks_app_targethealth_change", args=[quote(target.pk)])
        )

    def _set_paused(self, request, queryset, *, paused: bool) -> None:
        done, refused = 0, 0
        for target in queryset:
            try:
                target_pause_set(target=target, paused=paused, by=f"operator {request.user.username}")
                done += 1
            except IllegalStateChange:
                refused += 1
        verb = "paused" if paused else "resumed"
        self.message_user(request, f"{done} callback target(s) {verb}; {refused} left as they were.")

    @admin.action(
        description="Pause the selected targets (their callbacks wait, one probe every 2 h)",
        permissions=["change"],
    )
    def pause_targets(self, request, queryset):
        self._set_paused(request, queryset, paused=True)

    @admin.action(
        description="Resume the selected targets (their waiting callbacks go out)", permissions=["change"]
    )
    def resume_targets(self, request, queryset):
        self._set_paused(request, queryset, paused=False)

    @admin.action(
        description="Retry waiting now: the selected targets' waiting callbacks go at once",
        permissions=["change"],
    )
    def retry_waiting_now(self, request, queryset):
        released = sum(target_waiting_release(target_id=target.id) for target in queryset)
        self.message_user(request, f"{released} waiting callback(s) are due now (paused targets left alone).")
