from rest_framework.exceptions import NotFound
from rest_framework.permissions import BasePermission


class IsOperator(BasePermission):
    """Staff only; everybody else is told the route does not exist (404, SPEC §5)."""

    def has_permission(self, request, view):
        if not (request.user and request.user.is_active and request.user.is_staff):
            raise NotFound()
        return True
