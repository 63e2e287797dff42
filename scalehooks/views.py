"""Project-level error pages: JSON under /v1/, the portal's layout under /portal/, Django's own pages elsewhere.

They answer what happens outside the API views' own exception handler
(``scalehooks.api.exception_handlers``): unknown routes, and errors Django raises before or
around a view.
"""

from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.views import defaults


def bad_request(request, exception=None):
    if request.path.startswith("/v1/"):
        return JsonResponse({"status_code": 400, "error": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


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
    return defaults.page_not_found(request, exception)


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
