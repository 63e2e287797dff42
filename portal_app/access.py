"""Who is signed in to the portal, on which side, and what they may do there (SPEC §8, §14).

The portal keeps its own entry in the session (``SESSION_KEY``) instead of Django's
authentication: a customer signed in to the portal is not signed in to the operators' admin
(``request.user`` stays anonymous there), and an operator who opens a customer's portal link in
the same browser stays signed in to the admin (``login()`` would have replaced the admin's user).

Every page reads the member again from the database and ends the session (SPEC §8 "Sessions")
when its person is no longer a member of the account (left the team, deactivated, made staff or
superuser: the portal never serves operators), when the password or the API key that opened it
was rotated, or after ``IDLE_LIMIT`` without a request.

A session's **reach** is the sides it may see (§8 "Modes"): a password sign-in, or a link made
with a live key, reaches both; a link made with a test key (or for the test side from the
command line) reaches the test side only. What a member may do on a side is
``scalehooks.access.allowed`` of their role, and an action on the whole account (the API keys,
the team, the password that signs in to both sides) needs a reach of the live side.
"""

import time
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils.crypto import constant_time_compare, salted_hmac

from scalehooks.access import OWNER_ROLE, Action, allowed
from tasks_app.keys import Mode
from tasks_app.models import Membership, Profile

SESSION_KEY = "portal"
IDLE_LIMIT = timedelta(hours=12)
SEEN_EVERY = 60  # seconds: how often a page writes the session's last-seen time


def portal_account_of(user) -> Profile | None:
    """The account ``user`` may sign in to the portal of: its own (the owner's profile) or the
    one it is a teammate of; None for anybody else, and for every staff or superuser account
    (operators use the admin, never the portal: §8 "People")."""
    if user is None or not user.is_active or user.is_staff or user.is_superuser:
        return None
    profile = Profile.objects.filter(user=user).first()
    if profile is not None:
        return profile
    membership = Membership.objects.filter(user=user).select_related("account__user").first()
    return membership.account if membership else None


def key_fingerprint(key_hash: str) -> str:
    """What a session keeps of the API key that opened it: enough to notice a rotation, nothing
    that stands for the key (a keyed hash of its stored hash)."""
    return salted_hmac("portal.key", key_hash, algorithm="sha256").hexdigest()[:32]


def reach_of(mode: str) -> tuple[str, ...]:
    """The sides a session opened on ``mode``'s side by a link may see: a test side's link
    reaches the test side only."""
    return (Mode.LIVE.value, Mode.TEST.value) if mode == Mode.LIVE else (Mode.TEST.value,)


@dataclass(frozen=True)
class Member:
    """A signed-in person: ``user`` (the owner or a teammate) of ``account`` with ``role``, on
    ``mode``'s side, reaching ``reach``."""

    user: object
    account: Profile
    mode: str
    role: str
    reach: tuple[str, ...]

    @property
    def owner(self):
        """The account's user: what every ledger row and task is filed under."""
        return self.account.user

    @property
    def is_test(self) -> bool:
        return self.mode == Mode.TEST

    @property
    def reaches_live(self) -> bool:
        return Mode.LIVE in self.reach

    def may(self, action: Action) -> bool:
        """Whether this member may do ``action`` on this side (§8 "Roles" and "Modes")."""
        return allowed(self.role, action) and (self.reaches_live or not action.account_wide)

    @property
    def can(self) -> dict[str, bool]:
        """``may`` of every action, by its name: what the templates show buttons for."""
        return {action.value: self.may(action) for action in Action}


def portal_sign_in(
    request, *, user, account: Profile, mode: str, reach: tuple[str, ...], key_hash: str = ""
) -> None:
    """Put the portal's entry in the session, under a new session key (no session fixation);
    whatever else the session holds (an operator's admin sign-in) is kept. ``key_hash``: the
    stored hash of the API key whose link opened it (its rotation ends the session)."""
    reach = tuple(Mode(side).value for side in reach)
    if Mode(mode).value not in reach:
        raise ValueError(f"A session on the {mode} side must reach it.")
    request.session.cycle_key()
    request.session[SESSION_KEY] = {
        "user_id": user.pk,
        "account_id": account.pk,
        "mode": Mode(mode).value,
        "reach": list(reach),
        "hash": user.get_session_auth_hash(),
        "key": key_fingerprint(key_hash) if key_hash else "",
        "seen": time.time(),
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


def portal_mode_set(request, member: Member, mode: str) -> bool:
    """Switch the session to ``mode``'s side; False (and nothing changed) beyond its reach."""
    if mode not in member.reach:
        return False
    entry = dict(request.session[SESSION_KEY])
    entry["mode"] = Mode(mode).value
    request.session[SESSION_KEY] = entry
    return True


def _key_still_valid(entry: dict, account: Profile) -> bool:
    """A session opened by a key's link ends when that key is rotated (both keys rotate at once)."""
    if not entry.get("key"):
        return True
    current = [account.live_api_key_hash, account.test_api_key_hash]
    return any(h and constant_time_compare(entry["key"], key_fingerprint(h)) for h in current)


def portal_member(request) -> Member | None:
    """The member the session names, if it still is one; an ended session is cleared."""
    entry = request.session.get(SESSION_KEY)
    if not isinstance(entry, dict):
        return None
    member = _member(entry)
    if member is None:
        request.session.pop(SESSION_KEY, None)
        return None
    now = time.time()
    if now - entry["seen"] > SEEN_EVERY:
        request.session[SESSION_KEY] = {**entry, "seen": now}
    return member


def _member(entry: dict) -> Member | None:
    seen, reach, mode = entry.get("seen"), entry.get("reach"), entry.get("mode")
    if not isinstance(seen, int | float) or time.time() - seen > IDLE_LIMIT.total_seconds():
        return None
    if not isinstance(reach, list) or not set(reach) <= set(Mode.values) or mode not in reach:
        return None
    user = get_user_model().objects.filter(pk=entry.get("user_id")).first()
    account = portal_account_of(user)
    if account is None or account.pk != entry.get("account_id"):
        return None
    if not constant_time_compare(str(entry.get("hash", "")), user.get_session_auth_hash()):
        return None  # the password changed since this session signed in
    if not _key_still_valid(entry, account):
        return None
    role = OWNER_ROLE if account.user_id == user.pk else Membership.objects.get(user=user).role
    return Member(user=user, account=account, mode=mode, role=role, reach=tuple(reach))
