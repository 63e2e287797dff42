from django.contrib import admin
from django.urls import include, path

from scalehooks import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", health.metrics, name="metrics"),
    path("v1/", include("tasks_app.urls")),
    path("v1/", include("callbacks_app.urls")),
]

handler404 = "scalehooks.views.not_found"
handler500 = "scalehooks.views.server_error"
