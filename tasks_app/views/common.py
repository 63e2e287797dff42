"""What every view of the ``/v1`` API shares: input validation, the caller's task, the task answer."""

from rest_framework.response import Response

from tasks_app import selectors
from tasks_app.representation import task_representation


def valid(serializer) -> dict:
    """The serializer's validated data; a 400 in our error shape otherwise."""
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def own_task(request, task_id: str):
    """The caller's task ``task_id`` in the key's mode (anything else is a 404)."""
    return selectors.task_get(user=request.user, mode=request.auth.mode, task_id=task_id)


def task_response(task) -> Response:
    return Response(task_representation(task))
