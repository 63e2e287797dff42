from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission


class IsOperator(BasePermission):
    """Operators only: active staff holding the view's ``operator_permission`` (for ``/v1/ops``,
    the permission of the admin's task actions, which the Operators group holds). Everybody
    else, staff outside the group included, is told the route does not exist (404, SPEC §5)."""

    def has_permission(self, request, view):
        user = request.user
        permission = getattr(view, "operator_permission", None)  # none named: nobody passes
        if not (permission and user and user.is_active and user.is_staff and user.has_perm(permission)):
            raise NotFound()
        return True
