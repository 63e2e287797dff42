"""A task's callback target (SPEC §6.1), and what its pages and errors say when it has none."""

from callbacks_app.models import Delivery
from tasks_app.models import Profile, Task


def callback_target(task: Task) -> str:
    """The task's ``callback_url``, else its account's default of the task's mode; "" when
    neither is set."""
    if task.callback_url:
        return task.callback_url
    profile = (
        Profile.objects.filter(user_id=task.owner_id)
        .only("live_default_callback_url", "test_default_callback_url")
        .first()
    )
    return profile.default_callback_url_of(task.mode) if profile else ""


def no_callback_reason(*, task: Task) -> str:
    """Why no callback of ``task`` went out, in a sentence that says what to do (SPEC §6.1: with no
    target nothing is sent and ``callback_succeeded`` stays absent; the event is recorded as
    ``not_sent``, for the feed, SPEC §17)."""
    return (
        f"Task {task.id} has no callback_url and its account has no {task.mode} default callback URL, "
        "so no callback was sent when its state changed (callback_succeeded stays absent). Set a "
        f"{task.mode} default callback URL (PATCH /v1/profile with a {task.mode} key, or the portal's "
        "settings), then resend the callback."
    )


def task_callback_note(*, task: Task) -> str:
    """What the task's page says about its callbacks when none was ever made: "" when it has one,
    or when it is pending (nothing to send yet)."""
    sent = Delivery.objects.filter(task=task).exclude(status=Delivery.Status.NOT_SENT)
    if task.status == Task.Status.PENDING or sent.exists():
        return ""
    target = callback_target(task)
    if target:
        return f"No callback was sent for this task: it had no target then. Its callbacks now go to {target}: resend to send this one."
    return no_callback_reason(task=task)
