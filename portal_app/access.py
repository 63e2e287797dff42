"""Who is signed in to the portal, and on which side (SPEC §14).

The portal keeps its own entry in the session (``SESSION_KEY``: the user, the account and
the side) instead of Django's authentication: a customer signed in to the portal is not
signed in to the operators' admin (``request.user`` stays anonymous there), and an operator
who opens a customer's portal link in the same browser stays signed in to the admin
(``login()`` would have replaced the admin's user). Every page reads the member again from
the database: a teammate removed, a deactivated user, or a user whose password changed
elsewhere, is signed out at the next page.
"""

from dataclasses import dataclass
from functools import wraps

from django.contrib.auth import get_user_model
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.http import urlencode

from portal_app.links import portal_account_of
from tasks_app.keys import Mode
from tasks_app.models import Membership, Profile

SESSION_KEY = "portal"
# Who may rotate the account's keys and secrets: the owner and its admins.
KEY_ROLES = (Membership.Role.ADMIN,)


@dataclass(frozen=True)
class Member:
    """A signed-in person: ``user`` (the owner or a teammate) of ``account``, on ``mode``'s side."""

    user: object
    account: Profile
    mode: str
    role: str

    @property
    def owner(self):
        """The account's user: what every ledger row and task is filed under."""
        return self.account.user

    @property
    def is_test(self) -> bool:
        return self.mode == Mode.TEST

    @property
    def may_rotate_keys(self) -> bool:
        return self.role in KEY_ROLES


def portal_sign_in(request, *, user, account: Profile, mode: str) -> None:
    """Put the portal's entry in the session, under a new session key (no session fixation);
    whatever else the session holds (an operator's admin sign-in) is kept."""
    request.session.cycle_key()
    request.session[SESSION_KEY] = {
        "user_id": user.pk,
        "account_id": account.pk,
        "mode": Mode(mode).value,
        "hash": user.get_session_auth_hash(),
    }


def portal_password_changed(request, user) -> None:
    """Keep this session signed in after ``user`` changed its password here; every other
    portal session of the user ends at its next page (as Django does for its logins)."""
    entry = dict(request.session[SESSION_KEY])
    entry["hash"] = user.get_session_auth_hash()
    request.session[SESSION_KEY] = entry


def portal_sign_out(request) -> None:
    request.session.pop(SESSION_KEY, None)
    request.session.cycle_key()


def portal_mode_set(request, mode: str) -> None:
    entry = dict(request.session[SESSION_KEY])
    entry["mode"] = Mode(mode).value
    request.session[SESSION_KEY] = entry


def portal_member(request) -> Member | None:
    """The member the session names, if it still is one."""
    entry = request.session.get(SESSION_KEY)
    if not isinstance(entry, dict):
        return None
    user = get_user_model().objects.filter(pk=entry.get("user_id"), is_active=True).first()
    account = portal_account_of(user) if user is not None else None
    if account is None or account.pk != entry.get("account_id") or entry.get("mode") not in Mode.values:
        return None
    if not constant_time_compare(str(entry.get("hash", "")), user.get_session_auth_hash()):
        return None  # the password changed since this session signed in
    role = Membership.Role.ADMIN if account.user_id == user.pk else Membership.objects.get(user=user).role
    return Member(user=user, account=account, mode=entry["mode"], role=role)


def portal_required(view):
    """The view for a signed-in member (``request.member``); the sign-in page otherwise."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        member = portal_member(request)
        if member is None:
            query = urlencode({"next": request.get_full_path()}) if request.method == "GET" else ""
            return HttpResponseRedirect(reverse("portal:sign-in") + (f"?{query}" if query else ""))
        request.member = member
        return view(request, *args, **kwargs)

    return wrapped
