"""Signing in (password, one-time link), signing out, and switching between the live and test sides."""

from django.contrib import messages
from django.contrib.auth import authenticate, user_logged_in
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from portal_app.access import (
    portal_account_of,
    portal_member,
    portal_mode_set,
    portal_sign_in,
    portal_sign_out,
    reach_of,
)
from portal_app.links import LinkExpired, LinkUsed, portal_link_check, portal_link_use
from portal_app.views.common import back, page, portal_view, refuse_get
from scalehooks import access
from scalehooks.errors import NotFound
from tasks_app.keys import Mode

SIGN_IN_WHY = "the sign-in form: django-axes locks out repeated wrong passwords; CSRF-protected"
LINK_WHY = "a one-time link: the 128-bit token is the secret, used once, 15 minutes; GET only asks"


@access.route_policy(access.public(SIGN_IN_WHY))
@sensitive_post_parameters("password")
@never_cache
def sign_in(request):
    """Email and password. ``authenticate`` goes through django-axes (``AUTHENTICATION_BACKENDS``):
    the admin's lockout covers this form too (a locked-out pair is refused by the backend and
    answered by ``AxesMiddleware``), and ``user_logged_in`` resets the failures on success."""
    if portal_member(request) is not None and request.method == "GET":
        return redirect("portal:overview")
    error = ""
    email = request.POST.get("email", "").strip()
    if request.method == "POST":
        user = authenticate(request, username=email, password=request.POST.get("password", ""))
        account = portal_account_of(user) if user is not None else None
        if account is None:
            error = "Wrong email or password, or no customer account for this email."
        else:
            # A password signs in to both sides, on the test side first.
            portal_sign_in(request, user=user, account=account, mode=Mode.TEST, reach=tuple(Mode.values))
            user_logged_in.send(sender=user.__class__, request=request, user=user)
            return back(request, "/portal/", referer=False)
    return page(
        request,
        "portal/sign_in.html",
        {"error": error, "email": email, "next": request.GET.get("next", "")},
        status=401 if error else 200,
    )


@access.route_policy(access.public(LINK_WHY))
@never_cache
def link(request, token: str):
    """A one-time link: GET asks (a mail scanner fetching the link uses nothing), the button
    POSTs and signs in. Used: 410 "already used"; expired: 410 "expired"; unknown: 404."""
    use = portal_link_use if request.method == "POST" else portal_link_check
    try:
        found = use(token=token)
    except LinkUsed:
        return page(request, "portal/link_used.html", status=410)
    except LinkExpired:
        return page(request, "portal/link_expired.html", status=410)
    except NotFound:
        return page(request, "portal/not_found.html", {"message": "No such sign-in link."}, status=404)
    if portal_account_of(found.user) != found.account:  # made staff, or left the team, since
        return page(request, "portal/not_found.html", {"message": "No such sign-in link."}, status=404)
    if request.method != "POST":
        return page(request, "portal/link.html", {"link": found})
    portal_sign_in(
        request,
        user=found.user,
        account=found.account,
        mode=found.mode,
        reach=reach_of(found.mode),
        key_hash=found.key_hash,
    )
    messages.success(request, f"Signed in as {found.user.email} ({found.mode} side).")
    return redirect("portal:overview")


@access.route_policy(access.public("ends the caller's own session only; POST with CSRF"))
def sign_out(request):
    if refused := refuse_get(request):
        return refused
    portal_sign_out(request)
    messages.info(request, "Signed out of the portal.")
    return redirect("portal:sign-in")


@portal_view(access.SIGNED_IN)
def mode_switch(request):
    """The one button of every page: the other side, on the same page, within the session's
    reach (a session opened from a test key stays on the test side)."""
    if refused := refuse_get(request):
        return refused
    member = request.member
    mode = request.POST.get("mode")
    if mode not in Mode.values:
        mode = Mode.LIVE if member.is_test else Mode.TEST
    if not portal_mode_set(request, member, mode):
        needs = f"a sign-in with your password, or with a link made with a {mode} key"
        return page(request, "portal/forbidden.html", {"needs": needs}, status=403)
    return back(request, "/portal/")
