"""Projects and batches (SPEC §12): the services that write them, and a batch's completion.

A batch is ``completed`` once it is finalized and none of its tasks is pending;
``batch_progress`` decides that, in the transaction of every state change of
one of its tasks (``tasks_app.services`` calls it) and of the finalize. It
locks the batch row after the task row (the lock order of the lifecycle:
task, then batch, then deliveries), so two processes completing the last two
tasks at once are serialised on the batch: the second one sees the first
one's task completed, and exactly one of them creates the ``batch.completed``
delivery.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from callbacks_app.services import callback_batch_delivery_create
from scalehooks.timestamps import format_timestamp
from tasks_app.errors import DuplicateName
from tasks_app.keys import Mode
from tasks_app.locks import batch_locked
from tasks_app.models import Batch, Project, Task
from tasks_app.representation import batch_counts
from tasks_app.task_types import get_task_type

# --- projects ---------------------------------------------------------------------


def _version(*, number: int, params: dict) -> dict:
    return {"version": number, "created_at": format_timestamp(timezone.now()), **params}


def project_create(
    *,
    owner,
    mode: str,
    name: str,
    task_type: str,
    params: dict,
    rapid: bool = False,
    studio: bool = False,
    dataset_id: str = "",
) -> Project:
    """A new project of the account and mode; ``DuplicateName`` when the name is taken."""
    kind = get_task_type(task_type)
    try:
        with transaction.atomic():
            return Project.objects.create(
                owner=owner,
                is_test=mode == Mode.TEST,
                name=name,
                type=kind.name,
                params=params,
                param_history=[_version(number=0, params=params)],
                rapid=rapid,
                studio=studio,
                dataset_id=dataset_id or "",
            )
    except IntegrityError:
        raise DuplicateName(f"A project named {name!r} already exists.") from None


def project_params_set(*, project_id: int, params: dict, patch: bool = False) -> Project:
    """Append a version of the project's params: ``params`` replace the current ones, or with
    ``patch`` are merged into them. Tasks created from now on inherit the new version."""
    with transaction.atomic():
        project = Project.objects.select_for_update().get(id=project_id)
        current = {**project.params, **params} if patch else dict(params)
        project.params = current
        project.param_history = [
            *project.param_history,
            _version(number=len(project.param_history), params=current),
        ]
        project.save(update_fields=["params", "param_history"])
    return project


def project_task_defaults(*, owner, mode: str, name: str, task_type: str) -> dict:
    """The current params of the project ``name`` a new task of ``task_type`` inherits.

    An unknown project, or one of another task type, is a 400 naming it.
    """
    project = Project.objects.filter(owner=owner, is_test=mode == Mode.TEST, name=name).first()
    if project is None:
        raise ValidationError({"project": [f"No project named {name!r}."]})
    if project.type != get_task_type(task_type).name:
        raise ValidationError(
            {"project": [f"Project {name!r} is a {project.type} project, not {task_type}."]}
        )
    return dict(project.params)


# --- batches ----------------------------------------------------------------------


def batch_create(
    *,
    owner,
    mode: str,
    project_name: str,
    name: str,
    callback: str = "",
    metadata: dict | None = None,
    calibration_batch: bool = False,
    self_label_batch: bool = False,
    staging: bool = False,
) -> Batch:
    """A new batch of the project ``project_name``: ``in_progress``, or ``staging`` when asked.

    An unknown project is a 400; a taken name a ``DuplicateName``.
    """
    is_test = mode == Mode.TEST
    project = Project.objects.filter(owner=owner, is_test=is_test, name=project_name).first()
    if project is None:
        raise ValidationError({"project": [f"No project named {project_name!r}."]})
    try:
        with transaction.atomic():
            return Batch.objects.create(
                owner=owner,
                is_test=is_test,
                name=name,
                project=project,
                status=Batch.Status.STAGING if staging else Batch.Status.IN_PROGRESS,
                callback=callback,
                metadata=metadata or {},
                calibration_batch=calibration_batch,
                self_label_batch=self_label_batch,
            )
    except IntegrityError:
        raise DuplicateName(f"A batch named {name!r} already exists.") from None


def batch_finalize(*, batch_id: int) -> Batch:
    """No task may join the batch from now on; a ``staging`` batch starts (``in_progress``).
    Idempotent. A finalized batch with no pending task completes at once (empty ones included)."""
    with transaction.atomic():
        batch = batch_locked(id=batch_id)
        if batch.finalized_at is None:
            batch.finalized_at = timezone.now()
            if batch.status == Batch.Status.STAGING:
                batch.status = Batch.Status.IN_PROGRESS
            batch.save(update_fields=["finalized_at", "status"])
            _progress(batch)
    return batch


def batch_metadata_set(*, batch_id: int, metadata: dict) -> Batch:
    """Replace the batch's metadata."""
    with transaction.atomic():
        batch = batch_locked(id=batch_id)
        batch.metadata = metadata
        batch.save(update_fields=["metadata"])
    return batch


def batch_task_join(*, owner, is_test: bool, project: str, batch: str) -> str:
    """Check that a new task may join ``batch`` (of ``project``), in the create's transaction,
    and return the task's project name (the batch's when the task names none).

    An unknown project or batch, a batch of another project, or a finalized batch is a 400.
    The batch row stays locked until the create commits, so a finalize cannot slip in between.
    """
    if project and not Project.objects.filter(owner=owner, is_test=is_test, name=project).exists():
        raise ValidationError({"project": [f"No project named {project!r}."]})
    if not batch:
        return project
    try:
        found = batch_locked(owner=owner, is_test=is_test, name=batch)
    except Batch.DoesNotExist:
        raise ValidationError({"batch": [f"No batch named {batch!r}."]}) from None
    if project and found.project.name != project:
        raise ValidationError(
            {"batch": [f"Batch {batch!r} belongs to project {found.project.name!r}, not {project!r}."]}
        )
    if found.finalized_at is not None:
        raise ValidationError({"batch": [f"Batch {batch!r} is finalized: no task can be added to it."]})
    return found.project.name


def task_batch_is_staging(task: Task) -> bool:
    """Whether the task's batch is still ``staging`` (its tasks cannot be completed yet)."""
    if not task.batch:
        return False
    return Batch.objects.filter(
        owner_id=task.owner_id, is_test=task.is_test, name=task.batch, status=Batch.Status.STAGING
    ).exists()


def batch_progress(*, task: Task) -> Batch | None:
    """After a state change of ``task`` (in its transaction, the task row locked and saved):
    complete its batch if that was the last pending task of a finalized batch, or put a
    completed batch back to ``in_progress`` when a task of it is pending again (a recall).
    Returns the batch when its status changed."""
    if not task.batch:
        return None
    batch = (
        Batch.objects.select_for_update(of=("self",))
        .select_related("project")
        .filter(owner_id=task.owner_id, is_test=task.is_test, name=task.batch)
        .first()
    )
    if batch is None:
        return None
    return batch if _progress(batch) else None


def _progress(batch: Batch) -> bool:
    """Move the locked ``batch`` to where its tasks put it; True when its status changed."""
    if batch.finalized_at is None:
        return False
    counts = batch_counts(batch)
    if batch.status != Batch.Status.COMPLETED and counts[Task.Status.PENDING] == 0:
        batch.status = Batch.Status.COMPLETED
        batch.completed_at = timezone.now()
        batch.save(update_fields=["status", "completed_at"])
        callback_batch_delivery_create(batch=batch, counts=counts)
        return True
    if batch.status == Batch.Status.COMPLETED and counts[Task.Status.PENDING] > 0:
        batch.status = Batch.Status.IN_PROGRESS
        batch.completed_at = None
        batch.save(update_fields=["status", "completed_at"])
        return True
    return False
