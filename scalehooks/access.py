"""The trust model's one table of who may do what (SPEC §8), and the policy every route declares.

Three kinds of caller reach the service: **nobody** (no key, no session), the **people of an
account** (its API keys, or a portal session of its owner or a teammate) and **operators** (the
Operators group, or superusers, in the admin and ``/v1/ops``). Every view declares which of
them it serves with a ``Policy`` (``policy`` on a DRF view class, ``@route_policy`` on a
function view); the API's permission class (``scalehooks.api.permissions.AccountPermission``)
and the portal's decorator (``portal_app.access.portal_view``) enforce the declaration, and
``tests/security/test_authorization_matrix.py`` reads it from the URL configuration and tries
every route as every kind of caller: a route that declares nothing fails that test.

What a person of an account may do is decided here and nowhere else: ``allowed(role, action)``.
An API key is the account's (as on Scale): it acts with the owner's role. A key's mode bounds
everything done with it; an action on the whole account (both modes: the API keys, the team)
needs the live side (``Action.account_wide``).
"""

import functools
from dataclasses import dataclass
from enum import StrEnum

from django.urls import URLPattern, URLResolver


class Action(StrEnum):
    """What a route does to an account, as the roles of SPEC §8 name it."""

    READ = "read"  # every page and list of the account's side
    OPERATE = "operate"  # resend, recover, test callbacks, inboxes and their scripts
    CONFIGURE = "configure"  # settings, default URLs, callback auth keys, signing secrets, target pause
    MANAGE_ACCOUNT = "manage_account"  # the API keys and the team: both modes at once
    OWN_PASSWORD = "own_password"  # a person's own password, which signs in to both sides

    @property
    def account_wide(self) -> bool:
        """Whether the action reaches both modes: only a live key or a session reaching the live
        side may do it (a test key must not open the live side, SPEC §8 "Modes")."""
        return self in (Action.MANAGE_ACCOUNT, Action.OWN_PASSWORD)


# Scale's teammate roles (``tasks_app.models.Membership.Role``) and what each may do. The owner,
# and the account's API keys, act as "admin".
OWNER_ROLE = "admin"
ROLE_ACTIONS = {
    "labeler": frozenset({Action.READ, Action.OWN_PASSWORD}),
    "member": frozenset({Action.READ, Action.OWN_PASSWORD}),
    "manager": frozenset({Action.READ, Action.OWN_PASSWORD, Action.OPERATE}),
    "admin": frozenset(Action),
}


def allowed(role: str, action: Action) -> bool:
    """Whether a person with ``role`` may do ``action`` (an unknown role may do nothing)."""
    return action in ROLE_ACTIONS.get(role, ())


class Caller(StrEnum):
    PUBLIC = "public"  # nobody needs to be known: the answer serves no account's data
    ACCOUNT = "account"  # an API key, or a portal session, of the account whose data it serves
    OPERATOR = "operator"  # the Operators group, or a superuser
    SUPERUSER = "superuser"  # a superuser only: the admin's users and groups, adding and deleting rows
    SIGNED_IN = "signed_in"  # any portal session (signing out, switching sides)


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Policy:
    """Who may reach a route: ``caller`` and, for an account's people, the ``action`` it does
    (``write``: the action of its POST, PATCH, PUT and DELETE, when they do more than its GET).
    ``why`` says, for a public route, why it needs no key and what protects it instead."""

    caller: Caller
    action: Action | None = None
    write: Action | None = None
    why: str = ""

    def action_for(self, method: str) -> Action | None:
        if self.write is not None and method.upper() not in SAFE_METHODS:
            return self.write
        return self.action

    def __str__(self):
        actions = "/".join(a.value for a in (self.action, self.write) if a is not None)
        return f"{self.caller.value}:{actions}" if actions else self.caller.value


def public(why: str) -> Policy:
    return Policy(Caller.PUBLIC, why=why)


def account(action: Action, *, write: Action | None = None) -> Policy:
    return Policy(Caller.ACCOUNT, action, write)


OPERATOR = Policy(Caller.OPERATOR)
SUPERUSER = Policy(Caller.SUPERUSER)
SIGNED_IN = Policy(Caller.SIGNED_IN)
READ, OPERATE, CONFIGURE, MANAGE_ACCOUNT, OWN_PASSWORD = (account(action) for action in Action)

POLICY_ATTRIBUTE = "policy"


def route_policy(policy: Policy):
    """Declare a function view's policy (what ``policy_of`` reads)."""

    def declare(view):
        setattr(view, POLICY_ATTRIBUTE, policy)
        return view

    return declare


def policy_of(callback) -> Policy | None:
    """The policy a URL pattern's callback (or a view instance) declares: the function's, or
    its view class's."""
    found = getattr(callback, POLICY_ATTRIBUTE, None)
    if found is None:
        view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
        found = getattr(view_class, POLICY_ATTRIBUTE, None)
    return found if isinstance(found, Policy) else None


def _as_function(view):
    """A bound method (the admin's login view) as a function, which can carry a policy."""

    @functools.wraps(view)
    def function(request, *args, **kwargs):
        return view(request, *args, **kwargs)

    return function


def routes_declare(patterns: list, policy: Policy, *, by_name: dict[str, Policy] | None = None) -> list:
    """Declare ``policy`` for every route of ``patterns`` (URL patterns and includes, as a site
    of Django's generates them) that declares none, or the policy ``by_name`` gives its URL name.
    For the admin site, whose views Django writes: ``scalehooks.admin``."""
    by_name = by_name or {}
    for entry in patterns:
        if isinstance(entry, URLResolver):
            routes_declare(entry.url_patterns, policy, by_name=by_name)
        elif isinstance(entry, URLPattern) and policy_of(entry.callback) is None:
            callback = entry.callback
            if hasattr(callback, "__self__"):
                callback = _as_function(callback)
            entry.callback = route_policy(by_name.get(entry.name, policy))(callback)
    return patterns
