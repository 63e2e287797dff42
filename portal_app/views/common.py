"""What every portal page shares: the member, the layout's context, the errors as pages."""

from functools import wraps

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from portal_app.access import portal_member
from scalehooks.access import Action, Caller, Policy, route_policy
from scalehooks.audit import actor_set
from scalehooks.errors import DomainError, NotFound

# What each action needs, said to a member whose role or side does not allow it.
NEEDS = {
    Action.READ: "a member of this account",
    Action.OPERATE: "the account's owner, an admin or a manager",
    Action.CONFIGURE: "the account's owner or an admin",
    Action.MANAGE_ACCOUNT: "the account's owner or an admin, signed in with a password or a live key's link",
    Action.OWN_PASSWORD: "a sign-in with a password or a live key's link: this session was opened for the test side only",
}


def page(request, template: str, context: dict | None = None, *, status: int = 200):
    """``template`` in the portal's layout, for the signed-in member (if any)."""
    member = getattr(request, "member", None)
    return render(request, template, {"member": member, **(context or {})}, status=status)


def not_found(request, message: str = "There is nothing here, or it belongs to another account or side."):
    """A 404 inside the portal's layout."""
    return page(request, "portal/not_found.html", {"message": message}, status=404)


def error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


def _safe(request, target: str) -> bool:
    return bool(target) and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})


def back(request, fallback: str, *, referer: bool = True) -> HttpResponseRedirect:
    """Back where the member came from: the ``next`` the form sent, else (``referer``) the page
    the form was on, when it is of this site; else ``fallback``."""
    candidates = [request.POST.get("next"), request.GET.get("next")]
    if referer:
        candidates.append(request.META.get("HTTP_REFERER"))
    for target in candidates:
        if _safe(request, target or ""):
            return HttpResponseRedirect(target)
    return HttpResponseRedirect(fallback)


def forbidden(request, action: Action):
    """A 403 inside the portal's layout: who may do what the member asked for."""
    return page(request, "portal/forbidden.html", {"needs": NEEDS[action]}, status=403)


def _sign_in_redirect(request) -> HttpResponseRedirect:
    query = urlencode({"next": request.get_full_path()}) if request.method == "GET" else ""
    return HttpResponseRedirect(reverse("portal:sign-in") + (f"?{query}" if query else ""))


def portal_view(policy: Policy):
    """A portal page or action, declaring and enforcing ``policy`` (``scalehooks.access``): nobody
    signed in is sent to the sign-in page; a member whose role or reach does not allow the
    policy's action gets the forbidden page (403). In the view, ``request.member`` is the member;
    another account's object (``NotFound``, ``Http404``) is a 404 page in the layout; a refused
    action (``DomainError``, ``ValidationError``) is a message on the page the member came from."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            member = portal_member(request)
            if member is None:
                return _sign_in_redirect(request)
            request.member = member
            actor_set(label=member.user.email, user=member.user, via="portal")
            action = policy.action_for(request.method)
            if policy.caller is Caller.ACCOUNT and not member.may(action):
                return forbidden(request, action)
            try:
                return view(request, *args, **kwargs)
            except (NotFound, Http404):
                return not_found(request)
            except (DomainError, ValidationError) as exc:
                if request.method != "POST":
                    raise
                messages.error(request, error_text(exc))
                return back(request, "/portal/")

        return route_policy(policy)(wrapped)

    return decorate


def refuse_get(request):
    """Actions change things and only POST (their buttons send the CSRF token): a 405 page for
    any other method. Call it after the object's lookup, so that another account's object is a
    404 whatever the method."""
    if request.method != "POST":
        return page(request, "portal/not_found.html", {"message": "Use the page's button."}, status=405)
    return None
