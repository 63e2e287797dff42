from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from callbacks_app.confirmation_views import email_confirmation_view
from inbox_app.urls import capture_urlpatterns
from portal_app.api import PortalSessionsApi
from scalehooks import access, health
from tasks_app.views.not_offered import NotOfferedApi

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", health.metrics, name="metrics"),
    # Public, like the documentation of any API: no key needed (README "API").
    path(
        "v1/schema",
        access.route_policy(access.public("the API's description: no account's data"))(
            SpectacularAPIView.as_view()
        ),
        name="api-schema",
    ),
    path(
        "v1/docs",
        access.route_policy(access.public("the API's description: no account's data"))(
            SpectacularSwaggerView.as_view(url_name="api-schema")
        ),
        name="api-docs",
    ),
    # The link of an email address confirmation (a page: GET asks, POST confirms).
    path("callbacks/confirm/<str:token>", email_confirmation_view, name="email-confirmation"),
    path("portal/", include("portal_app.urls")),
    path("v1/portal/sessions", PortalSessionsApi.as_view(), name="portal-sessions"),
    path("v1/", include("tasks_app.urls")),
    path("v1/", include("callbacks_app.urls")),
    path("v1/", include("inbox_app.urls")),
    # The callback inbox's capture route (SPEC §15): any method, no key, outside /v1.
    *capture_urlpatterns,
    path("v2/<path:rest>", NotOfferedApi.as_view(feature="v2"), name="not-offered-v2"),  # a 402
]

handler400 = "scalehooks.views.bad_request"
handler403 = "scalehooks.views.permission_denied"
handler404 = "scalehooks.views.not_found"
handler500 = "scalehooks.views.server_error"
