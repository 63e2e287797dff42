"""Recover a window: every failed delivery of a time window resent, after a count, in the
background (``callbacks_app.recovery``), with its progress polled by the page."""

from datetime import timedelta

from django import forms
from django.http import JsonResponse
from django.shortcuts import redirect
from django.utils import timezone

from callbacks_app.models import Recovery
from callbacks_app.recovery import deliveries_recover_count, deliveries_recover_start
from portal_app.views.common import not_found, page, portal_view
from scalehooks import access

MAX_WINDOW = timedelta(days=31)


class WindowForm(forms.Form):
    since = forms.DateTimeField(
        label="From (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = forms.DateTimeField(
        label="Until (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until:
            if since >= until:
                raise forms.ValidationError("The window's start must be before its end.")
            if until - since > MAX_WINDOW:
                raise forms.ValidationError("A window is at most 31 days.")
        return data


def _initial() -> dict:
    now = timezone.now().replace(second=0, microsecond=0)
    fmt = "%Y-%m-%dT%H:%M"
    return {
        "since": (now - timedelta(hours=24)).strftime(fmt),
        "until": (now + timedelta(minutes=1)).strftime(fmt),
    }


@portal_view(access.account(access.Action.READ, write=access.Action.OPERATE))
def recover(request):
    """GET: the form. POST ``step=count``: the count and a confirm button; ``step=start``: the job."""
    member = request.member
    if request.method != "POST":
        recent = Recovery.objects.filter(owner=member.owner, is_test=member.is_test)[:5]
        return page(
            request, "portal/recover.html", {"form": WindowForm(initial=_initial()), "recent": recent}
        )
    form = WindowForm(request.POST)
    if not form.is_valid():
        return page(request, "portal/recover.html", {"form": form}, status=400)
    window = {"owner": member.owner, "is_test": member.is_test, **form.cleaned_data}
    plan = deliveries_recover_count(**window)
    confirmed = request.POST.get("counted") == str(plan.total)
    if request.POST.get("step") == "start" and confirmed:
        recovery = deliveries_recover_start(**window)
        return redirect("portal:recovery", recovery_id=recovery.id)
    # A count first, and again when what was counted is not what the window holds now (the
    # dates were edited, or deliveries failed or were resent since): nothing unseen is sent.
    changed = request.POST.get("step") == "start"
    return page(
        request, "portal/recover.html", {"form": form, "plan": plan, "confirm": True, "changed": changed}
    )


def _recovery(request, recovery_id: int) -> Recovery | None:
    member = request.member
    return Recovery.objects.filter(id=recovery_id, owner=member.owner, is_test=member.is_test).first()


@portal_view(access.READ)
def recovery(request, recovery_id: int):
    found = _recovery(request, recovery_id)
    if found is None:
        return not_found(request)
    return page(request, "portal/recovery.html", {"recovery": found})


@portal_view(access.READ)
def recovery_progress(request, recovery_id: int):
    """The progress as JSON, for the page's few lines of script (no framework)."""
    found = _recovery(request, recovery_id)
    if found is None:
        return not_found(request)
    return JsonResponse(
        {
            "status": found.status,
            "total": found.total,
            "done": found.done,
            "resent": found.resent,
            "skipped": found.skipped,
            "percent": found.percent,
        }
    )
