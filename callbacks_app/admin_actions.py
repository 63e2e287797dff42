"""Resending callbacks from the admin, for the deliveries', the tasks' and the batches' admin actions (STYLE 12)."""

from django.contrib import messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse

from callbacks_app.errors import NoCallbackTarget, ResendLimitReached
from callbacks_app.resends import callback_batch_resend, callback_resend
from scalehooks.errors import IllegalStateChange

# Domain refusals an operator action reports as an error message, changing nothing.
REFUSALS = (IllegalStateChange, NoCallbackTarget, ResendLimitReached)


def resend_tasks(modeladmin, request, task_ids) -> None:
    """Resend the callback of each task; report how many were queued and why others were refused."""
    queued, refused = 0, []
    for task_id in task_ids:
        try:
            new = callback_resend(task_id=task_id)
        except REFUSALS as exc:
            refused.append(str(exc))
        else:
            queued += 1
            modeladmin.log_change(request, new, f"Resent the callback of task {task_id} (bulk action).")
    report_counts(modeladmin, request, done=queued, refused=refused, verb="Resent the callback of")


def resend_batches(modeladmin, request, batch_ids) -> None:
    """Resend the ``batch.completed`` callback of each batch, as ``resend_tasks`` for tasks."""
    queued, refused = 0, []
    for batch_id in batch_ids:
        try:
            new = callback_batch_resend(batch_id=batch_id)
        except REFUSALS as exc:
            refused.append(str(exc))
        else:
            queued += 1
            modeladmin.log_change(
                request, new, f"Resent the callback of batch {new.batch.name} (bulk action)."
            )
    report_counts(
        modeladmin, request, done=queued, refused=refused, verb="Resent the callback of", noun="batch"
    )


def report_counts(
    modeladmin, request, *, done: int, refused: list[str], verb: str, noun: str = "task"
) -> None:
    """Tell the operator how many tasks (or batches) an action changed, and why the others were refused."""
    plural = "es" if noun.endswith("ch") else "s"
    if done:
        modeladmin.message_user(
            request, f"{verb} {done} {noun}{plural if done != 1 else ''}.", messages.SUCCESS
        )
    if refused:
        shown = " ".join(refused[:5]) + (f" (and {len(refused) - 5} more)" if len(refused) > 5 else "")
        modeladmin.message_user(
            request,
            f"Refused for {len(refused)} {noun}{plural if len(refused) != 1 else ''}: {shown}",
            messages.ERROR,
        )


class ResendButtonMixin:
    """A ModelAdmin's one-click **Resend** on an object's page (a POST to ``<id>/resend/``),
    for operators with the "change task" permission; the admin names what it resends in
    ``resend_one(object_id) -> (delivery, "task x" | "batch y")``, which raises a ``REFUSALS``."""

    def has_resend_permission(self, request):
        return request.user.has_perm("tasks_app.change_task")

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        resend = path(
            "<path:object_id>/resend/", self.admin_site.admin_view(self.resend_view), name=f"{prefix}_resend"
        )
        return [resend, *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "can_resend": self.has_resend_permission(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    def resend_view(self, request, object_id):
        """Resend, then show the new delivery (or the refusal on the object's page)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_resend_permission(request):
            raise PermissionDenied
        try:
            new, whose = self.resend_one(unquote(object_id))
        except REFUSALS as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(request.path.removesuffix("resend/") + "change/")
        message = f"Resent the callback of {whose} as delivery {new.id}."
        self.message_user(request, message, messages.SUCCESS)
        self.log_change(request, new, message)  # the admin's "Recent actions"; the audit trail has it too
        return HttpResponseRedirect(reverse("admin:callbacks_app_delivery_change", args=[quote(new.id)]))
