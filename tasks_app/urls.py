from django.urls import path

from tasks_app import views

urlpatterns = [
    path("task/<str:segment>", views.TaskApi.as_view(), name="task"),
    path(
        "ops/task/<str:task_id>/complete",
        views.OpsTaskCompleteApi.as_view(),
        name="ops-task-complete",
    ),
]
