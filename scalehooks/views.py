"""Project-level error pages: JSON under /v1/, Django's own pages elsewhere."""

from django.http import JsonResponse
from django.views import defaults


def not_found(request, exception=None):
    if request.path.startswith("/v1/"):
        return JsonResponse({"status_code": 404, "error": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/v1/"):
        return JsonResponse(
            {"status_code": 500, "error": "Internal server error. It has been logged."}, status=500
        )
    return defaults.server_error(request)
