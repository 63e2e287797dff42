"""Project-level error pages: JSON under /v1/, the portal's layout under /portal/, the admin's
style elsewhere.

They answer what happens outside the API views' own exception handler
(``scalehooks.api.exception_handlers``): unknown routes, and errors Django raises before or
around a view (an admin page a staff user lacks the permission for: ``PermissionDenied``).
Under /admin/ the page is the admin's own (header, user tools, a way back to what the operator
may see); elsewhere the same style without them, since nobody is signed in to the admin there.
"""

from django.contrib import admin
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.views import defaults

ADMIN_PREFIX = "/admin/"


def bad_request(request, exception=None):
    if request.path.startswith("/v1/"):
        return JsonResponse({"status_code": 400, "error": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def _styled(request, template: str, status: int):
    """An error page in the admin's style: with the admin site's context under /admin/."""
    if request.path.startswith(ADMIN_PREFIX):
        context = {**admin.site.each_context(request), "in_admin": True}
    else:
        context = {"site_header": "ScaleHooks", "site_title": "ScaleHooks", "in_admin": False}
    return render(request, template, {**context, "path": request.path}, status=status)


def permission_denied(request, exception=None):
    if request.path.startswith("/v1/"):
        return JsonResponse({"status_code": 403, "error": "Forbidden."}, status=403)
    if request.path.startswith("/portal/"):
        return render(
            request,
            "portal/forbidden.html",
            {"needs": "a role or a side this session does not have"},
            status=403,
        )
    return _styled(request, "errors/403.html", 403)


def not_found(request, exception=None):
    if request.path.startswith("/v1/"):
        return JsonResponse({"status_code": 404, "error": "Not found."}, status=404)
    if request.path.startswith("/portal/"):
        if request.path.endswith("/") and _resolves(request.path.rstrip("/")):  # /portal/inboxes/
            query = request.META.get("QUERY_STRING", "")
            return HttpResponseRedirect(request.path.rstrip("/") + (f"?{query}" if query else ""))
        return render(
            request, "portal/not_found.html", {"message": "No such page."}, status=404
        )  # its layout
    return _styled(request, "errors/404.html", 404)


def _resolves(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


def server_error(request):
    if request.path.startswith("/v1/"):
        return JsonResponse(
            {"status_code": 500, "error": "Internal server error. It has been logged."}, status=500
        )
    return defaults.server_error(request)
