"""The overview, the callbacks list with its filters and cursor pages, one delivery, resend."""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils import timezone

from callbacks_app import figures, selectors
from callbacks_app.health_selectors import targets_unwell
from callbacks_app.models import Delivery
from callbacks_app.payloads import payload_indented
from callbacks_app.resends import callback_batch_resend, callback_resend
from portal_app.views.common import error_text, page, portal_view, refuse_get
from scalehooks import access
from scalehooks.errors import DomainError, NotFound
from tasks_app.selectors import task_get

PAGE_SIZE = 25
LATEST = 10


@portal_view(access.READ)
def overview(request):
    """The side's last 24 hours: every rate beside the failures it leaves out (SPEC §14)."""
    member = request.member
    since = timezone.now() - timedelta(hours=24)
    deliveries = figures.account_delivery_figures(owner=member.owner, is_test=member.is_test, since=since)
    latest = selectors.with_last_failure(
        selectors.deliveries_of_account(owner=member.owner, is_test=member.is_test)
    )[:LATEST]
    return page(
        request,
        "portal/overview.html",
        {
            "deliveries": deliveries,
            "attempts": figures.account_attempt_figures(
                owner_id=member.owner.id, mode=member.mode, since=since
            ),
            "last_error": figures.account_last_error(owner_id=member.owner.id, mode=member.mode),
            "unwell": list(targets_unwell(profile=member.account, mode=member.mode)),
            "failed_by_origin": selectors.failed_deliveries_by_origin(
                owner=member.owner, is_test=member.is_test, since=since
            ),
            "latest": list(latest),
            "default_url": member.account.default_callback_url_of(member.mode),
        },
    )


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "any status"), *Delivery.Status.choices], required=False)
    event = forms.ChoiceField(
        # An account's own events: the operators' alerts belong to no account (SPEC §6.1).
        choices=[("", "any event"), *(c for c in Delivery.Event.choices if c[0] != Delivery.Event.OPS_ALERT)],
        required=False,
    )
    task_id = forms.CharField(required=False, max_length=64, label="Task id")
    unique_id = forms.CharField(required=False, max_length=255, label="unique_id")
    target = forms.CharField(required=False, max_length=2048, label="Target contains")
    batch = forms.CharField(required=False, max_length=255, label="Batch name")
    since = forms.DateTimeField(
        required=False, label="From (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = forms.DateTimeField(
        required=False, label="Until (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )


@portal_view(access.READ)
def callbacks(request):
    member = request.member
    form = DeliveryFilterForm(request.GET)
    if not form.is_valid():
        return page(
            request, "portal/callbacks.html", {"form": form, "deliveries": [], "invalid": True}, status=400
        )
    filters = form.cleaned_data
    deliveries = selectors.with_last_failure(
        selectors.deliveries_filtered(owner=member.owner, is_test=member.is_test, filters=filters)
    )
    try:
        found = selectors.deliveries_page(
            deliveries=deliveries, limit=PAGE_SIZE, cursor=request.GET.get("cursor")
        )
    except ValidationError as exc:  # an edited cursor
        messages.error(request, error_text(exc))
        return redirect(request.path)
    query = request.GET.copy()
    query.pop("cursor", None)
    next_query = None
    if found.next_cursor:
        query["cursor"] = found.next_cursor
        next_query = query.urlencode()
    return page(
        request,
        "portal/callbacks.html",
        {
            "form": form,
            "deliveries": found.deliveries,
            "next_query": next_query,
            "paged": bool(request.GET.get("cursor")),
            "filtered": any(value not in ("", None) for value in filters.values()),
            "task_found": _task_of_side(member, filters.get("task_id")),
        },
    )


def _task_of_side(member, task_id: str | None):
    """The side's task ``task_id`` names, if it is one (its page holds what no delivery shows)."""
    if not task_id:
        return None
    try:
        return task_get(user=member.owner, mode=member.mode, task_id=task_id.strip())
    except NotFound:
        return None


def _delivery(request, delivery_id: str) -> Delivery:
    member = request.member
    return selectors.delivery_of_account(owner=member.owner, is_test=member.is_test, delivery_id=delivery_id)


@portal_view(access.READ)
def delivery(request, delivery_id: str):
    found = _delivery(request, delivery_id)
    attempts = list(found.attempts.all())
    return page(
        request,
        "portal/delivery.html",
        {
            "delivery": found,
            "payload_indented": payload_indented(found.payload),
            "payload_bytes": len(found.payload.encode()),
            "attempts": attempts,
            "task": found.task,
            "resendable": found.task_id is not None or found.batch_id is not None,
        },
    )


@portal_view(access.OPERATE)
def delivery_resend(request, delivery_id: str):
    """The callback of the delivery's task (or batch) again, through the API's resend service."""
    found = _delivery(request, delivery_id)
    if refused := refuse_get(request):
        return refused
    if found.task_id is not None:
        new = callback_resend(task_id=found.task_id)
    elif found.batch_id is not None:
        new = callback_batch_resend(batch_id=found.batch_id)
    else:
        raise DomainError("A test callback is not resent: send a new one from the settings.")
    messages.success(request, f"Resent: delivery {new.id} is queued.")
    return redirect("portal:delivery", delivery_id=new.id)
