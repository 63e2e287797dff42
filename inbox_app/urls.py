"""The inbox's routes: the capture route (outside ``/v1``) and its API under ``/v1``."""

from django.urls import path, re_path

from inbox_app import capture_views, views

capture_urlpatterns = [
    re_path(
        r"^inbox/(?P<token>[A-Za-z0-9_-]+)(?P<rest>/[\s\S]*)?$",
        capture_views.inbox_capture,
        name="inbox-capture",
    ),
]

urlpatterns = [
    path("inboxes", views.InboxesApi.as_view(), name="inboxes"),
    path("inboxes/<str:inbox_id>", views.InboxApi.as_view(), name="inbox"),
    path("inboxes/<str:inbox_id>/requests", views.InboxRequestsApi.as_view(), name="inbox-requests"),
]
