"""The page of a team invitation's link (``tasks_app.invitations``): GET shows who invites and the
role, the button's POST accepts and signs the new teammate in to the portal's settings, where they
set a password.

A mail scanner fetching the link (GET) accepts nothing. A used link is a 410 "already accepted",
an expired one a 410 "expired", an unknown one a 404; an invitation whose address a user holds
by now can no longer be accepted (409): it never attaches an existing user.
"""

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache

from portal_app.access import portal_sign_in
from portal_app.views.common import page
from scalehooks import access
from scalehooks.errors import NotFound
from tasks_app.errors import InvitationExpired, InvitationRefused, InvitationUsed
from tasks_app.invitations import invitation_accept, invitation_check
from tasks_app.keys import Mode

WHY = (
    "a team invitation's link, mailed to the invited address: its 128-bit token is the secret, "
    "valid 48 hours, accepted once; GET only shows, the POST (CSRF-protected) accepts"
)
CLOSED = {  # the page of a link that cannot be accepted, and its status
    InvitationUsed: ("used", 410),
    InvitationExpired: ("expired", 410),
    InvitationRefused: ("refused", 409),
}


def _no_referrer(response):
    response["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    return response


@access.route_policy(access.public(WHY))
@never_cache
def invitation(request, token: str):
    if request.method not in ("GET", "POST"):
        return page(request, "portal/not_found.html", {"message": "Use the page's button."}, status=405)
    use = invitation_accept if request.method == "POST" else invitation_check
    try:
        found = use(token=token)
    except NotFound:
        return _no_referrer(
            page(request, "portal/not_found.html", {"message": "No such invitation."}, status=404)
        )
    except (InvitationUsed, InvitationExpired, InvitationRefused) as exc:
        state, status = CLOSED[type(exc)]
        return _no_referrer(
            page(
                request, "portal/invitation_closed.html", {"state": state, "reason": str(exc)}, status=status
            )
        )
    if request.method != "POST":
        return _no_referrer(page(request, "portal/invitation.html", {"invitation": found}))
    # Inviting needs the live side (MANAGE_ACCOUNT: a live key, or a session reaching both): the
    # new teammate reaches both sides, on the test side first, as a password sign-in does.
    portal_sign_in(request, user=found.user, account=found.account, mode=Mode.TEST, reach=tuple(Mode.values))
    messages.success(
        request,
        f"Welcome: you are a teammate of {found.account.user.email}. Set a password to sign in again later.",
    )
    return redirect("portal:settings")
