"""The callback inbox in the portal (SPEC §15), on ``inbox_app``'s services and selectors:
the inboxes of this side, one inbox with its captured requests (refreshed every second), one
request with its verification panel, the answer script, the timing of retries, and "use as
the default callback URL" (the same service as ``PATCH /v1/profile``)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect

from inbox_app import selectors, services
from portal_app.views.common import page, portal_view, refuse_get
from scalehooks import access
from tasks_app import accounts

REQUESTS_SHOWN = 50


def _inbox(request, inbox_id: str):
    member = request.member
    return selectors.inbox_get(profile=member.account, mode=member.mode, inbox_id=inbox_id)


def _use(request, inbox) -> None:
    member = request.member
    accounts.profile_update(profile=member.account, mode=member.mode, default_callback_url=inbox.url)
    messages.success(request, f"Callbacks of the {member.mode} side now go to the inbox {inbox.name}.")


@portal_view(access.READ)
def inboxes(request):
    member = request.member
    listed = list(selectors.inboxes_of(profile=member.account, mode=member.mode))
    return page(
        request,
        "portal/inboxes.html",
        {"inboxes": listed, "default_url": member.account.default_callback_url_of(member.mode)},
    )


@portal_view(access.OPERATE)
def inbox_create(request):
    """A new inbox of this side; with ``use``, the default callback URL of this side too."""
    if refused := refuse_get(request):
        return refused
    member = request.member
    inbox = services.inbox_create(
        profile=member.account, mode=member.mode, name=request.POST.get("name") or "My inbox"
    )
    if request.POST.get("use"):
        _use(request, inbox)
    else:
        messages.success(request, f"Inbox {inbox.name} created.")
    return redirect("portal:inbox", inbox_id=inbox.id)


class ScriptForm(forms.Form):
    answer_status = forms.IntegerField(min_value=200, max_value=599, label="Answer status")
    answer_body = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Answer body"
    )
    answer_headers = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Answer headers (one 'Name: value' a line)",
    )
    answer_delay_s = forms.FloatField(min_value=0, label="Delay (s)")
    fail_count = forms.IntegerField(min_value=0, label="Fail the next N requests")
    fail_status = forms.IntegerField(min_value=200, max_value=599, label="… with status")
    failure_rate = forms.FloatField(min_value=0, max_value=1, label="Then fail this fraction at random (0–1)")

    def clean_answer_headers(self) -> dict:
        headers = {}
        for line in self.cleaned_data["answer_headers"].splitlines():
            if not line.strip():
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise ValidationError(f"Not a 'Name: value' line: {line!r}.")
            headers[name.strip()] = value.strip()
        return headers


def _script_initial(inbox) -> dict:
    return {
        "answer_status": inbox.answer_status,
        "answer_body": inbox.answer_body,
        "answer_headers": "\n".join(f"{k}: {v}" for k, v in inbox.answer_headers.items()),
        "answer_delay_s": inbox.answer_delay_s,
        "fail_count": inbox.fail_count,
        "fail_status": inbox.fail_status,
        "failure_rate": inbox.failure_rate,
    }


def _before(request) -> int | None:
    value = request.GET.get("before", "")
    return int(value) if value.isdigit() else None


def _inbox_page(request, inbox, *, form=None, status=200):
    member = request.member
    before = _before(request)
    shown = selectors.inbox_requests(inbox=inbox, limit=REQUESTS_SHOWN, before=before)
    return page(
        request,
        "portal/inbox.html",
        {
            "inbox": inbox,
            "form": form or ScriptForm(initial=_script_initial(inbox)),
            "requests": shown,
            "paged": before is not None,
            "older": shown[-1].id if len(shown) == REQUESTS_SHOWN else None,
            "is_default": member.account.default_callback_url_of(member.mode) == inbox.url,
            "forced_failures_left": max(
                0, inbox.fail_count - (inbox.received_count - inbox.script_set_at_count)
            ),
            "request_href": "/portal/inbox-requests/",
            "delivery_href": "/portal/callbacks/",
        },
        status=status,
    )


@portal_view(access.READ)
def inbox(request, inbox_id: str):
    return _inbox_page(request, _inbox(request, inbox_id))


@portal_view(access.READ)
def inbox_requests(request, inbox_id: str):
    """The captured requests' rows alone: what the inbox page fetches every second."""
    found = _inbox(request, inbox_id)
    return page(
        request,
        "inbox/_requests.html",
        {
            "requests": selectors.inbox_requests(inbox=found, limit=REQUESTS_SHOWN),
            "request_href": "/portal/inbox-requests/",
            "delivery_href": "/portal/callbacks/",
        },
    )


@portal_view(access.OPERATE)
def inbox_script(request, inbox_id: str):
    found = _inbox(request, inbox_id)
    if refused := refuse_get(request):
        return refused
    form = ScriptForm(request.POST)
    if not form.is_valid():
        return _inbox_page(request, found, form=form, status=400)
    services.inbox_update_script(inbox=found, **form.cleaned_data)
    messages.success(request, "The script is saved: it starts again from the next request.")
    return redirect("portal:inbox", inbox_id=found.id)


@portal_view(access.CONFIGURE)
def inbox_use(request, inbox_id: str):
    found = _inbox(request, inbox_id)
    if refused := refuse_get(request):
        return refused
    _use(request, found)
    return redirect("portal:inbox", inbox_id=found.id)


@portal_view(access.OPERATE)
def inbox_clear(request, inbox_id: str):
    found = _inbox(request, inbox_id)
    if refused := refuse_get(request):
        return refused
    count = services.inbox_requests_clear(inbox=found)
    messages.success(request, f"{count} captured request{'s' if count != 1 else ''} forgotten.")
    return redirect("portal:inbox", inbox_id=found.id)


@portal_view(access.OPERATE)
def inbox_delete(request, inbox_id: str):
    found = _inbox(request, inbox_id)
    if refused := refuse_get(request):
        return refused
    services.inbox_delete(inbox=found)
    messages.success(request, f"Inbox {found.name} deleted: its URL is a 404 from now on.")
    return redirect("portal:inboxes")


@portal_view(access.READ)
def inbox_timing(request, inbox_id: str):
    found = _inbox(request, inbox_id)
    return page(
        request, "portal/inbox_timing.html", {"inbox": found, "arrivals": selectors.inbox_timing(inbox=found)}
    )


@portal_view(access.READ)
def captured_request(request, request_id: str):
    member = request.member
    captured = selectors.captured_request_get(profile=member.account, mode=member.mode, request_id=request_id)
    return page(
        request,
        "portal/captured_request.html",
        {"captured": captured, "delivery_href": "/portal/callbacks/"},
    )
