"""Target health (SPEC §16): the side's callback targets, failing and paused first, with their
1 h and 24 h figures; pause and resume through the service the API and the admin use."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils import timezone

from callbacks_app.health_selectors import target_figures, target_health_get, targets_health
from callbacks_app.pausing import target_pause_set, target_waiting_release
from portal_app.views.common import page, portal_view, refuse_get
from scalehooks import access


@portal_view(access.READ)
def targets(request):
    member = request.member
    listed = list(targets_health(profile=member.account, mode=member.mode))
    figures = target_figures(targets=listed, now=timezone.now())
    rows = [
        {
            "target": target,
            "hour": figures[target.id]["1h"],
            "day": figures[target.id]["24h"],
            "windows": [figures[target.id]["1h"], figures[target.id]["24h"]],
        }
        for target in listed
    ]
    return page(request, "portal/targets.html", {"rows": rows})


def _pause_set(request, target_id: int, *, paused: bool):
    member = request.member
    target = target_health_get(owner_id=member.owner.pk, mode=member.mode, target_id=target_id)
    if refused := refuse_get(request):
        return refused
    target = target_pause_set(target=target, paused=paused, by="account")
    verb = "Paused" if paused else "Resumed"
    messages.success(request, f"{verb}: {target.origin}.")
    return redirect("portal:targets")


@portal_view(access.CONFIGURE)
def target_pause(request, target_id: int):
    return _pause_set(request, target_id, paused=True)


@portal_view(access.CONFIGURE)
def target_resume(request, target_id: int):
    return _pause_set(request, target_id, paused=False)


@portal_view(access.OPERATE)
def target_retry_now(request, target_id: int):
    """Its callbacks waiting for a retry go at once (a receiver fixed before the backoff ends)."""
    member = request.member
    target = target_health_get(owner_id=member.owner.pk, mode=member.mode, target_id=target_id)
    if refused := refuse_get(request):
        return refused
    released = target_waiting_release(target_id=target.id)
    messages.success(request, f"{released} waiting callback(s) to {target.origin} are due now.")
    return redirect("portal:targets")
