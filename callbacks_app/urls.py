"""Callback routes under ``/v1`` (resend, delivery log, callback target health)."""

from django.urls import path

import scalehooks.api.names  # noqa: F401 - registers the "name" path converter
from callbacks_app import views

urlpatterns = [
    path(
        "task/<str:task_id>/resend_callback",
        views.TaskCallbackResendApi.as_view(),
        name="task-resend-callback",
    ),
    path("task/<str:task_id>/callbacks", views.TaskCallbacksApi.as_view(), name="task-callbacks"),
    path(
        "batches/<name:name>/resend_callback",
        views.BatchCallbackResendApi.as_view(),
        name="batch-resend-callback",
    ),
    path("batches/<name:name>/callbacks", views.BatchCallbacksApi.as_view(), name="batch-callbacks"),
    path("callbacks", views.CallbacksFeedApi.as_view(), name="callbacks-feed"),
    path("callback_targets", views.CallbackTargetsApi.as_view(), name="callback-targets"),
    path(
        "callback_targets/<int:target_id>/pause",
        views.CallbackTargetPauseApi.as_view(),
        name="callback-target-pause",
    ),
    path(
        "callback_targets/<int:target_id>/resume",
        views.CallbackTargetResumeApi.as_view(),
        name="callback-target-resume",
    ),
]
