from django.urls import path

from tasks_app import views

urlpatterns = [
    path("task/<str:segment>", views.TaskApi.as_view(), name="task"),
    path("tasks", views.TaskListApi.as_view(), name="tasks"),
    path("task/<str:task_id>/cancel", views.TaskCancelApi.as_view(), name="task-cancel"),
    path("task/<str:task_id>/audit", views.TaskAuditApi.as_view(), name="task-audit"),
    path("task/<str:task_id>/unique_id", views.TaskUniqueIdApi.as_view(), name="task-unique-id"),
    path("task/<str:task_id>/setMetadata", views.TaskMetadataApi.as_view(), name="task-set-metadata"),
    path("task/<str:task_id>/tags", views.TaskTagsApi.as_view(), name="task-tags"),
    path("profile", views.ProfileApi.as_view(), name="profile"),
    path(
        "profile/rotate_callback_auth_key",
        views.ProfileRotateCallbackAuthKeyApi.as_view(),
        name="profile-rotate-callback-auth-key",
    ),
    path("ops/task/<str:task_id>/complete", views.OpsTaskCompleteApi.as_view(), name="ops-task-complete"),
    path("ops/task/<str:task_id>/error", views.OpsTaskErrorApi.as_view(), name="ops-task-error"),
    path("ops/task/<str:task_id>/fix", views.OpsTaskFixApi.as_view(), name="ops-task-fix"),
    path("ops/task/<str:task_id>/recall", views.OpsTaskRecallApi.as_view(), name="ops-task-recall"),
]
