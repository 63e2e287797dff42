"""Signing in (password, one-time link), signing out, and switching between the live and test sides."""

from django.contrib import messages
from django.contrib.auth import authenticate, user_logged_in
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from portal_app.access import portal_member, portal_mode_set, portal_required, portal_sign_in, portal_sign_out
from portal_app.links import LinkExpired, LinkUsed, portal_account_of, portal_link_check, portal_link_use
from portal_app.views.common import back, page, refuse_get
from scalehooks.errors import NotFound
from tasks_app.keys import Mode


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
            portal_sign_in(request, user=user, account=account, mode=Mode.TEST)
            user_logged_in.send(sender=user.__class__, request=request, user=user)
            return back(request, "/portal/", referer=False)
    return page(
        request,
        "portal/sign_in.html",
        {"error": error, "email": email, "next": request.GET.get("next", "")},
        status=401 if error else 200,
    )


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
    if request.method != "POST":
        return page(request, "portal/link.html", {"link": found})
    portal_sign_in(request, user=found.user, account=found.account, mode=found.mode)
    messages.success(request, f"Signed in as {found.user.email} ({found.mode} side).")
    return redirect("portal:overview")


def sign_out(request):
    if refused := refuse_get(request):
        return refused
    portal_sign_out(request)
    messages.info(request, "Signed out of the portal.")
    return redirect("portal:sign-in")


@portal_required
def mode_switch(request):
    """The one button of every page: the other side, on the same page."""
    if refused := refuse_get(request):
        return refused
    mode = request.POST.get("mode")
    if mode not in Mode.values:
        mode = Mode.LIVE if request.member.is_test else Mode.TEST
    portal_mode_set(request, mode)
    return back(request, "/portal/")
