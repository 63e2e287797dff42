"""Callback routes under ``/v1`` (resend, delivery log)."""

from django.urls import path

from callbacks_app import views

urlpatterns = [
    path(
        "task/<str:task_id>/resend_callback",
        views.TaskCallbackResendApi.as_view(),
        name="task-resend-callback",
    ),
    path("task/<str:task_id>/callbacks", views.TaskCallbacksApi.as_view(), name="task-callbacks"),
]
