from django.conf import settings
from rest_framework.throttling import BaseThrottle

from scalehooks.limits import rate_wait


class ApiKeyRateThrottle(BaseThrottle):
    """Requests per API key (live and test keys count apart), rate from ``API_THROTTLE_RATE``.

    Counted by ``scalehooks.limits.rate_wait`` in fixed windows of the rate's period: one
    counter per key and window in Django's cache (Redis when ``REDIS_URL`` is set, shared by
    all web processes, one round trip a request; else per process). A request over the rate is
    a 429 whose ``Retry-After`` is the time left in the window.
    """

    def allow_request(self, request, view):
        auth = getattr(request, "auth", None)
        if auth is None:
            return True  # unauthenticated requests end in a 401 anyway
        self._wait = rate_wait(f"api:{auth.profile.pk}-{auth.mode}", rate=settings.API_THROTTLE_RATE)
        return self._wait is None

    def wait(self):
        return self._wait
