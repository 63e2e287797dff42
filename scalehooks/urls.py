from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("v1/", include("tasks_app.urls")),
    path("v1/", include("callbacks_app.urls")),
]

handler404 = "scalehooks.views.not_found"
handler500 = "scalehooks.views.server_error"
