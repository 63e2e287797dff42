from django.conf import settings
from django.http import JsonResponse


class ApiBodySizeLimitMiddleware:
    """Refuse API request bodies over ``API_MAX_BODY_BYTES`` with a 413, before reading them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/v1/"):
            limit = settings.API_MAX_BODY_BYTES
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > limit:
                return JsonResponse(
                    {
                        "status_code": 413,
                        "error": f"Request body too large: {length} bytes, at most {limit} accepted.",
                    },
                    status=413,
                )
        return self.get_response(request)
