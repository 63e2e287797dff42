from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Requests per API key (live and test keys count apart), rate from ``API_THROTTLE_RATE``.

    The counters live in Django's cache: Redis when ``REDIS_URL`` is set (shared by
    all web processes), else per process.
    """

    scope = "api_key"

    def get_rate(self):
        return settings.API_THROTTLE_RATE

    def allow_request(self, request, view):
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        auth = getattr(request, "auth", None)
        if auth is None:
            return None  # unauthenticated requests end in a 401 anyway
        return self.cache_format % {"scope": self.scope, "ident": f"{auth.profile.pk}-{auth.mode}"}
