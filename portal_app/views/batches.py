"""Batches with their callback state: the batch's own ``batch.completed`` deliveries and its
tasks' callback outcomes (``callback_succeeded``)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import redirect

from callbacks_app.resends import callback_batch_resend
from callbacks_app.selectors import deliveries_of_batch, with_last_failure
from portal_app.views.common import not_found, page, portal_view, refuse_get
from scalehooks import access
from tasks_app.models import Task
from tasks_app.representation import batch_counts
from tasks_app.selectors import batches_visible_to

PAGE_SIZE = 25


@portal_view(access.READ)
def batches(request):
    member = request.member
    listed = batches_visible_to(user=member.owner, mode=member.mode).order_by("-created_at", "-id")
    found = Paginator(listed, PAGE_SIZE).get_page(request.GET.get("page"))
    return page(request, "portal/batches.html", {"batches": found})


def _task_callbacks(batch) -> dict:
    """How the batch's tasks' callbacks ended: succeeded, failed, not finished (or none)."""
    return Task.objects.filter(owner_id=batch.owner_id, is_test=batch.is_test, batch=batch.name).aggregate(
        succeeded=Count("id", filter=Q(callback_succeeded=True)),
        failed=Count("id", filter=Q(callback_succeeded=False)),
        unfinished=Count("id", filter=Q(callback_succeeded__isnull=True)),
    )


@portal_view(access.READ)
def batch(request, batch_id: int):
    member = request.member
    found = batches_visible_to(user=member.owner, mode=member.mode).filter(id=batch_id).first()
    if found is None:
        return not_found(request)
    return page(
        request,
        "portal/batch.html",
        {
            "batch": found,
            "counts": batch_counts(found),
            "task_callbacks": _task_callbacks(found),
            "deliveries": list(with_last_failure(deliveries_of_batch(batch=found))[:50]),
        },
    )


@portal_view(access.OPERATE)
def batch_resend(request, batch_id: int):
    """The batch's ``batch.completed`` callback again, through the API's resend service."""
    member = request.member
    found = batches_visible_to(user=member.owner, mode=member.mode).filter(id=batch_id).first()
    if found is None:
        return not_found(request)
    if refused := refuse_get(request):
        return refused
    new = callback_batch_resend(batch_id=found.id)
    messages.success(request, f"Resent: delivery {new.id} is queued.")
    return redirect("portal:delivery", delivery_id=new.id)
