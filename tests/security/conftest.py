from callbacks_app.models import Delivery
from inbox_app.models import CapturedRequest, Inbox
from tasks_app.models import IdempotencyKey, Invitation, Membership, Profile, Task, TaskTag, UploadedFile


def database_state() -> dict:
    """Every row an API route could change, all columns: compare before and after a call."""
    return {
        model.__name__: list(model.objects.order_by("pk").values())
        for model in (
            Task,
            TaskTag,
            Delivery,
            IdempotencyKey,
            Profile,
            Membership,
            Invitation,
            UploadedFile,
            Inbox,
            CapturedRequest,
        )
    }
