"""The API's one permission class: each view's declared policy (``scalehooks.access``), enforced.

Set as DRF's default permission class, so that every ``/v1`` view goes through it:

- a view that declares no policy serves nobody (a 404: the route fails closed, and the
  authorization matrix test fails until the policy is declared);
- ``public``: anybody;
- ``account``: an API key (401 without one). The key is the account's and acts with the owner's
  role; its mode bounds what it reaches: an action on the whole account (the API keys, the team)
  needs a live key (403 for a test key);
- ``operator``: active staff holding the view's ``operator_permission`` (for ``/v1/ops``, the
  permission of the admin's task actions, which the Operators group holds). Everybody else,
  staff outside the group included, is told the route does not exist (404, SPEC §5).
"""

from rest_framework.exceptions import NotAuthenticated, NotFound, PermissionDenied
from rest_framework.permissions import BasePermission

from scalehooks.access import OWNER_ROLE, Caller, allowed, policy_of
from scalehooks.audit import actor_set


class DeclaredPolicy(BasePermission):
    def has_permission(self, request, view):
        policy = policy_of(view)
        if policy is None:
            raise NotFound()
        if policy.caller is Caller.PUBLIC:
            return True
        if request.auth is None:
            raise NotAuthenticated()
        profile, mode = request.auth.profile, request.auth.mode
        key = f"{profile.live_api_key_prefix if mode == 'live' else profile.test_api_key_prefix}…"
        if policy.caller is Caller.OPERATOR:
            _operator(request, view)
            actor_set(label=f"operator {request.user.get_username()} (API key {key})", user=request.user)
            return True
        actor_set(label=f"API key {key}", user=request.user)
        action = policy.action_for(request.method)
        if policy.caller is not Caller.ACCOUNT or not allowed(OWNER_ROLE, action):
            raise NotFound()
        if action.account_wide and request.auth.mode != "live":
            raise PermissionDenied(
                "This changes the whole account (both modes): use a live API key. A test key reaches the test side only."
            )
        return True


def _operator(request, view) -> None:
    user = request.user
    permission = getattr(view, "operator_permission", None)  # none named: nobody passes
    if not (permission and user and user.is_active and user.is_staff and user.has_perm(permission)):
        raise NotFound()
