"""One task of the side: its state, where its callbacks go (or why none went out), its deliveries,
and resend (the API's service)."""

from django.contrib import messages
from django.shortcuts import redirect

from callbacks_app.resends import callback_resend
from callbacks_app.selectors import deliveries_of_task, with_last_failure
from callbacks_app.task_targets import callback_target, task_callback_note
from portal_app.views.common import page, portal_view, refuse_get
from scalehooks import access
from tasks_app.selectors import task_get

DELIVERIES_SHOWN = 50


def _task(request, task_id: str):
    member = request.member
    return task_get(user=member.owner, mode=member.mode, task_id=task_id)


@portal_view(access.READ)
def task(request, task_id: str):
    found = _task(request, task_id)
    return page(
        request,
        "portal/task.html",
        {
            "task": found,
            "target": callback_target(found),
            "note": task_callback_note(task=found),
            "deliveries": list(with_last_failure(deliveries_of_task(task=found))[:DELIVERIES_SHOWN]),
            "resendable": found.status in ("completed", "error"),
        },
    )


@portal_view(access.OPERATE)
def task_resend(request, task_id: str):
    found = _task(request, task_id)
    if refused := refuse_get(request):
        return refused
    new = callback_resend(task_id=found.id)
    messages.success(request, f"Resent: delivery {new.id} is queued.")
    return redirect("portal:delivery", delivery_id=new.id)
