from django.urls import path

import scalehooks.api.names  # noqa: F401 - registers the "name" path converter
from tasks_app.views import batches, files, not_offered, ops, profile, projects, tasks, teams

urlpatterns = [
    path("task/<str:segment>", tasks.TaskApi.as_view(), name="task"),
    path("tasks", tasks.TaskListApi.as_view(), name="tasks"),
    path("task/<str:task_id>/cancel", tasks.TaskCancelApi.as_view(), name="task-cancel"),
    path("task/<str:task_id>/audit", tasks.TaskAuditApi.as_view(), name="task-audit"),
    path(
        "task/<str:task_id>/unique_id",
        tasks.TaskUniqueIdApi.as_view(),
        name="task-unique-id",
    ),
    path(
        "task/<str:task_id>/setMetadata",
        tasks.TaskMetadataApi.as_view(),
        name="task-set-metadata",
    ),
    path("task/<str:task_id>/tags", tasks.TaskTagsApi.as_view(), name="task-tags"),
    path("projects", projects.ProjectsApi.as_view(), name="projects"),
    path("projects/<name:name>", projects.ProjectApi.as_view(), name="project"),
    path("projects/<name:name>/setParams", projects.ProjectParamsApi.as_view(), name="project-set-params"),
    # A 402 whatever the project, as the studio routes below: it reveals nothing of it.
    path(
        "projects/<str:rest>/taskTemplates",
        not_offered.NotOfferedApi.as_view(feature="taskTemplates"),
        name="not-offered-task-templates",
    ),
    path("batches", batches.BatchesApi.as_view(), name="batches"),
    path("batches/<name:name>", batches.BatchApi.as_view(), name="batch"),
    path("batches/<name:name>/status", batches.BatchStatusApi.as_view(), name="batch-status"),
    path("batches/<name:name>/finalize", batches.BatchFinalizeApi.as_view(), name="batch-finalize"),
    path("batches/<name:name>/setMetadata", batches.BatchMetadataApi.as_view(), name="batch-set-metadata"),
    path("profile", profile.ProfileApi.as_view(), name="profile"),
    path(
        "profile/rotate_callback_auth_key",
        profile.ProfileRotateCallbackAuthKeyApi.as_view(),
        name="profile-rotate-callback-auth-key",
    ),
    path(
        "ops/task/<str:task_id>/complete",
        ops.OpsTaskCompleteApi.as_view(),
        name="ops-task-complete",
    ),
    path(
        "ops/task/<str:task_id>/error",
        ops.OpsTaskErrorApi.as_view(),
        name="ops-task-error",
    ),
    path("ops/task/<str:task_id>/fix", ops.OpsTaskFixApi.as_view(), name="ops-task-fix"),
    path(
        "ops/task/<str:task_id>/recall",
        ops.OpsTaskRecallApi.as_view(),
        name="ops-task-recall",
    ),
    path("teams", teams.TeamsApi.as_view(), name="teams"),
    path("teams/invite", teams.TeamsInviteApi.as_view(), name="teams-invite"),
    path("teams/set_role", teams.TeamsSetRoleApi.as_view(), name="teams-set-role"),
    path("teams/set_alert_emails", teams.TeamsSetAlertEmailsApi.as_view(), name="teams-set-alert-emails"),
    path("files/upload", files.FileUploadApi.as_view(), name="files-upload"),
    path("files/import", files.FileImportApi.as_view(), name="files-import"),
    path("files/content/<str:token>/<str:name>", files.FileContentApi.as_view(), name="files-content"),
    # Parts of the official client this service does not offer: a 402 (SPEC §12).
    *(
        path(
            f"{feature}/<path:rest>",
            not_offered.NotOfferedApi.as_view(feature=feature),
            name=f"not-offered-{feature}",
        )
        for feature in ("studio", "evaluation_tasks", "training_tasks")
    ),
]
