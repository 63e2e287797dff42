"""``/portal/``: the customer portal's pages and actions."""

from django.urls import path

from portal_app.views import (
    account,
    auth,
    batches,
    callbacks,
    inboxes,
    invitations,
    recover,
    targets,
    tasks,
)

app_name = "portal"

urlpatterns = [
    path("", callbacks.overview, name="overview"),
    path("sign-in", auth.sign_in, name="sign-in"),
    path("sign-out", auth.sign_out, name="sign-out"),
    path("link/<str:token>", auth.link, name="link"),
    path("invitations/<str:token>", invitations.invitation, name="invitation"),
    path("mode", auth.mode_switch, name="mode"),
    path("callbacks", callbacks.callbacks, name="callbacks"),
    path("callbacks/<str:delivery_id>", callbacks.delivery, name="delivery"),
    path("callbacks/<str:delivery_id>/resend", callbacks.delivery_resend, name="delivery-resend"),
    path("tasks/<str:task_id>", tasks.task, name="task"),
    path("tasks/<str:task_id>/resend", tasks.task_resend, name="task-resend"),
    path("recover", recover.recover, name="recover"),
    path("recover/<int:recovery_id>", recover.recovery, name="recovery"),
    path("recover/<int:recovery_id>/progress", recover.recovery_progress, name="recovery-progress"),
    path("settings", account.settings_page, name="settings"),
    path("activity", account.activity, name="activity"),
    path("settings/default-url", account.default_url_set, name="default-url"),
    path("settings/password", account.password_set, name="password"),
    path("settings/test-callback", account.test_callback_send, name="test-callback"),
    path("settings/rotate/api-keys", account.rotate_api_keys, name="rotate-api-keys"),
    path(
        "settings/rotate/callback-auth-key", account.rotate_callback_auth_key, name="rotate-callback-auth-key"
    ),
    path("settings/rotate/signing-secret", account.rotate_signing_secret, name="rotate-signing-secret"),
    path("targets", targets.targets, name="targets"),
    path("targets/<int:target_id>/pause", targets.target_pause, name="target-pause"),
    path("targets/<int:target_id>/resume", targets.target_resume, name="target-resume"),
    path("targets/<int:target_id>/retry-now", targets.target_retry_now, name="target-retry-now"),
    path("batches", batches.batches, name="batches"),
    path("batches/<int:batch_id>", batches.batch, name="batch"),
    path("batches/<int:batch_id>/resend", batches.batch_resend, name="batch-resend"),
    path("inboxes", inboxes.inboxes, name="inboxes"),
    path("inboxes/create", inboxes.inbox_create, name="inbox-create"),
    path("inboxes/<str:inbox_id>", inboxes.inbox, name="inbox"),
    path("inboxes/<str:inbox_id>/requests", inboxes.inbox_requests, name="inbox-requests"),
    path("inboxes/<str:inbox_id>/script", inboxes.inbox_script, name="inbox-script"),
    path("inboxes/<str:inbox_id>/use", inboxes.inbox_use, name="inbox-use"),
    path("inboxes/<str:inbox_id>/clear", inboxes.inbox_clear, name="inbox-clear"),
    path("inboxes/<str:inbox_id>/delete", inboxes.inbox_delete, name="inbox-delete"),
    path("inboxes/<str:inbox_id>/timing", inboxes.inbox_timing, name="inbox-timing"),
    path("inbox-requests/<str:request_id>", inboxes.captured_request, name="captured-request"),
]
