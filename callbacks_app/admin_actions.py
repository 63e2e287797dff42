"""Resending callbacks from the admin, for the deliveries' and the tasks' admin actions (STYLE 12)."""

from django.contrib import messages

from callbacks_app.errors import NoCallbackTarget, ResendLimitReached
from callbacks_app.services import callback_resend
from scalehooks.errors import IllegalStateChange

# Domain refusals an operator action reports as an error message, changing nothing.
REFUSALS = (IllegalStateChange, NoCallbackTarget, ResendLimitReached)


def resend_tasks(modeladmin, request, task_ids) -> None:
    """Resend the callback of each task; report how many were queued and why others were refused."""
    queued, refused = 0, []
    for task_id in task_ids:
        try:
            callback_resend(task_id=task_id)
        except REFUSALS as exc:
            refused.append(str(exc))
        else:
            queued += 1
    report_counts(modeladmin, request, done=queued, refused=refused, verb="Resent the callback of")


def report_counts(modeladmin, request, *, done: int, refused: list[str], verb: str) -> None:
    """Tell the operator how many tasks an action changed, and why the others were refused."""
    if done:
        modeladmin.message_user(request, f"{verb} {done} task{'s' if done != 1 else ''}.", messages.SUCCESS)
    if refused:
        shown = " ".join(refused[:5]) + (f" (and {len(refused) - 5} more)" if len(refused) > 5 else "")
        modeladmin.message_user(
            request,
            f"Refused for {len(refused)} task{'s' if len(refused) != 1 else ''}: {shown}",
            messages.ERROR,
        )
