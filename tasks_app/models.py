from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q

from tasks_app.keys import (
    Mode,
    generate_callback_auth_key,
    generate_signing_secret,
    generate_task_id,
    mode_field,
)

MAX_TAGS = 100  # tags of one task
MAX_TAG_LENGTH = 255


class Profile(models.Model):
    """A customer account's callback settings and keys (SPEC §3).

    Live and test are kept apart: each mode has its own default callback URL,
    callback auth key and signing secret (with its previous secret during a
    rotation), and a key sees and changes only its own mode's side.

    API keys are stored as SHA-256 hashes with a short visible prefix; the
    plain key is shown once, by the service that creates or rotates it.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    live_default_callback_url = models.CharField(max_length=2048, blank=True, default="")
    test_default_callback_url = models.CharField(max_length=2048, blank=True, default="")
    live_callback_auth_key = models.CharField(max_length=64, default=generate_callback_auth_key)
    test_callback_auth_key = models.CharField(max_length=64, default=generate_callback_auth_key)
    live_signing_secret = models.CharField(max_length=64, default=generate_signing_secret)
    test_signing_secret = models.CharField(max_length=64, default=generate_signing_secret)
    # After a rotation the previous secret of the mode stays valid (both
    # signatures are sent) until this time (SPEC §3, Standard Webhooks rotation).
    live_previous_signing_secret = models.CharField(max_length=64, blank=True, default="")
    live_previous_signing_secret_expires_at = models.DateTimeField(null=True, blank=True)
    test_previous_signing_secret = models.CharField(max_length=64, blank=True, default="")
    test_previous_signing_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Otherwise forbidden networks (CIDR strings) this account's callbacks may
    # reach, set by an operator (SPEC §8); CALLBACK_ALLOWED_NETWORKS opens
    # networks to every account.
    allowed_networks = models.JSONField(default=list, blank=True)

    live_api_key_prefix = models.CharField(max_length=16, blank=True, default="")
    live_api_key_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    test_api_key_prefix = models.CharField(max_length=16, blank=True, default="")
    test_api_key_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)

    # Test-key tasks complete at once with a synthetic response (SPEC §13); false keeps
    # them pending for operators.
    test_tasks_autocomplete = models.BooleanField(default=True)

    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Profile of {self.user}"

    def callback_auth_key(self, mode: str) -> str:
        return getattr(self, mode_field(mode, "callback_auth_key"))

    def default_callback_url_of(self, mode: str) -> str:
        return getattr(self, mode_field(mode, "default_callback_url"))

    def signing_secret_of(self, mode: str) -> str:
        return getattr(self, mode_field(mode, "signing_secret"))

    def previous_signing_secret_of(self, mode: str) -> tuple[str, datetime | None]:
        """The mode's previous signing secret and when it stops signing ("" and None: none)."""
        return (
            getattr(self, mode_field(mode, "previous_signing_secret")),
            getattr(self, mode_field(mode, "previous_signing_secret_expires_at")),
        )

    def signing_secrets(self) -> list[str]:
        """Every signing secret the account holds, current and previous, of both modes."""
        secrets = (
            getattr(self, mode_field(mode, name))
            for mode in Mode
            for name in ("signing_secret", "previous_signing_secret")
        )
        return [secret for secret in secrets if secret]


class Task(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        COMPLETED = "completed", "Completed"
        ERROR = "error", "Error"
        CANCELED = "canceled", "Canceled"

    class AuditResult(models.TextChoices):
        """The result of an audit, and the task's ``customer_review_status`` once reviewed."""

        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        FIXED = "fixed", "Fixed"

    id = models.CharField(primary_key=True, max_length=24, default=generate_task_id, editable=False)
    # No index of its own: the first column of task_list_idx and task_batch_idx.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tasks", db_index=False
    )
    is_test = models.BooleanField(default=False)
    type = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    instruction = models.TextField(blank=True, default="")
    params = models.JSONField(default=dict)
    response = models.JSONField(null=True, blank=True)
    callback_url = models.CharField(max_length=2048, blank=True, default="")
    # None until the task's first delivery finishes (SPEC §6.5).
    callback_succeeded = models.BooleanField(null=True, blank=True)
    callback_succeeded_at = models.DateTimeField(null=True, blank=True)
    # When the delivery whose outcome ``callback_succeeded`` shows was created: an older
    # delivery's outcome never overwrites it (``tasks_app.callback_outcomes``).
    callback_outcome_of = models.DateTimeField(null=True, blank=True, editable=False)
    metadata = models.JSONField(default=dict, blank=True)
    # None until tags are first set: the task object has no `tags` until then, as on Scale.
    tags = models.JSONField(null=True, blank=True, default=None)
    # NULL, not "", when unset: the unique constraint holds only among set values.
    unique_id = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    project = models.CharField(max_length=255, blank=True, default="")
    batch = models.CharField(max_length=255, blank=True, default="")
    audits = models.JSONField(default=list, blank=True)
    customer_review_status = models.CharField(max_length=16, blank=True, default="")
    customer_review_comments = models.JSONField(default=list, blank=True)
    prior_responses = models.JSONField(default=list, blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "is_test", "unique_id"],
                condition=Q(unique_id__isnull=False),
                name="task_unique_id_per_account_and_mode",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "is_test", "-created_at", "-id"], name="task_list_idx"),
            # A batch's counts (``representation.batch_counts``), at each state change of its tasks.
            models.Index(fields=["owner", "is_test", "batch", "status"], name="task_batch_idx"),
        ]

    def __str__(self):
        return f"{self.type} task {self.id} ({self.status})"

    @property
    def mode(self) -> str:
        return Mode.TEST if self.is_test else Mode.LIVE


class TaskCount(models.Model):
    """How many tasks an account holds in a mode: ``GET /v1/tasks``'s ``total`` without a
    filter, read from one row instead of counted over a ledger that may hold millions.

    Kept by the database itself (triggers of migration 0011 on every insert and delete of a
    task, on PostgreSQL one per statement), so that every way a task is written or deleted
    (the services, a bulk insert, a cascade, the admin, SQL) counts, in the transaction that
    does it. A task never changes owner or mode.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    is_test = models.BooleanField()
    tasks = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "is_test"], name="task_count_unique")]

    def __str__(self):
        return f"{self.tasks} tasks"


class TaskTag(models.Model):
    """One tag of a task, kept beside ``Task.tags`` so that ``GET /v1/tasks?tags=`` can filter
    on every database (JSON containment is not available on SQLite).

    Written only by the tag-changing services in ``tasks_app.services``.
    """

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="tag_rows")
    name = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task", "name"], name="task_tag_unique"),
        ]
        indexes = [models.Index(fields=["name"], name="task_tag_name_idx")]

    def __str__(self):
        return self.name


class IdempotencyKey(models.Model):
    """An ``Idempotency-Key`` a create was sent with, and the task it created (SPEC §4).

    A retried create with the same key (same account and mode) returns that task.
    ``request_hash`` fingerprints the request so that a key reused for a different
    task is refused rather than silently answered with the wrong task.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotency_keys"
    )
    is_test = models.BooleanField(default=False)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "is_test", "key"], name="idempotency_key_per_account_and_mode"
            ),
        ]

    def __str__(self):
        return f"Idempotency-Key {self.key} → {self.task_id}"


class Project(models.Model):
    """A project of an account and mode (SPEC §12): a task type and the params its tasks inherit.

    ``param_history`` holds every version of the params (``{version, created_at, ...params}``),
    the last one current; ``params`` is a copy of the current one without those two keys.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="projects")
    is_test = models.BooleanField(default=False)
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=64)
    params = models.JSONField(default=dict, blank=True)
    param_history = models.JSONField(default=list, blank=True)
    rapid = models.BooleanField(default=False)
    studio = models.BooleanField(default=False)
    dataset_id = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "is_test", "name"], name="project_name_per_account_and_mode"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def mode(self) -> str:
        return Mode.TEST if self.is_test else Mode.LIVE


class Batch(models.Model):
    """A batch of tasks of one project (SPEC §12), whose completion sends a ``batch.completed`` callback.

    ``finalized_at`` is set by finalize: no task may join it afterwards, and once none of its
    tasks is pending it is ``completed`` (``tasks_app.batches.batch_progress``, in the
    transaction of the task change that made it so).
    """

    class Status(models.TextChoices):
        STAGING = "staging", "Staging"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="batches")
    is_test = models.BooleanField(default=False)
    name = models.CharField(max_length=255)
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="batches")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROGRESS)
    callback = models.CharField(max_length=2048, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    calibration_batch = models.BooleanField(default=False)
    self_label_batch = models.BooleanField(default=False)
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    finalized_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "batches"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "is_test", "name"], name="batch_name_per_account_and_mode"
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "is_test", "-created_at", "-id"], name="batch_list_idx"),
        ]

    def __str__(self):
        return self.name

    @property
    def mode(self) -> str:
        return Mode.TEST if self.is_test else Mode.LIVE


class Membership(models.Model):
    """A teammate of an account (SPEC §12): a user who accepted the account's invitation, with a role.

    The owner is not a membership: it is the profile's user, shown as ``admin``. A user is
    the teammate of at most one account; it has no API keys of its own (it signs in to the
    portal, §14). A membership is made only by accepting an ``Invitation``
    (``tasks_app.invitations``), which confirms the address (SPEC §6.6): ``accepted_at``.
    """

    class Role(models.TextChoices):
        LABELER = "labeler", "Labeler"
        MEMBER = "member", "Member"
        MANAGER = "manager", "Manager"
        ADMIN = "admin", "Admin"

    account = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="memberships")
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    invited_at = models.DateTimeField(auto_now_add=True)
    # The teammate also gets the account's callback target alerts by email (SPEC §16); the owner always does.
    alert_emails = models.BooleanField(default=False)
    # When its person accepted the invitation through the link mailed to the address, which
    # confirms the address; None for a membership made before invitations existed (its address
    # was confirmed by nobody: it is mailed nothing).
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["invited_at", "id"]

    def __str__(self):
        return f"{self.user} ({self.role}) of {self.account}"


class Invitation(models.Model):
    """An address invited to an account's team with a role, pending until the address's holder
    accepts it through the one-time link mailed to it (SPEC §8 "People", ``tasks_app.invitations``).

    Nothing is attached before: the acceptance makes the user and its ``Membership``. ``email``
    is the address in lower case, in full (case variants are one address). The link's token
    carries 128 random bits and only its SHA-256 is stored (``token_hash``), kept once used so
    that a used link says so; it is empty until the link is mailed, and stays empty for an
    address that already had a user when it was to be mailed (no usable link exists then).
    """

    account = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="invitations")
    email = models.CharField(max_length=254)
    role = models.CharField(max_length=16, choices=Membership.Role.choices, default=Membership.Role.MEMBER)
    token_hash = models.CharField(max_length=64, blank=True, default="", db_index=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    invited_at = models.DateTimeField()  # when it was last made pending: its 48 hours count from here
    expires_at = models.DateTimeField()
    # When its email went out; for an address that already had a user, when it would have (no
    # email is sent then, but the hourly email budget counts it, so that the budget tells nothing).
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["invited_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "email"], name="invitation_per_account_and_address"),
        ]

    def __str__(self):
        return f"invitation of {self.email} ({self.role}) to {self.account}"


class UploadedFile(models.Model):
    """A file an account uploaded or imported (SPEC §12), stored through Django's storage API.

    ``token`` is the unguessable part of its ``attachment_url``: the address a task may use
    as an attachment, readable without a key, as Scale's signed attachment URLs are.
    """

    id = models.CharField(primary_key=True, max_length=24, default=generate_task_id, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="files")
    is_test = models.BooleanField(default=False)
    token = models.CharField(max_length=64, unique=True)
    storage_name = models.CharField(max_length=512)
    original_name = models.CharField(max_length=255, blank=True, default="")
    mime_type = models.CharField(max_length=255, blank=True, default="")
    size = models.BigIntegerField(default=0)
    project_names = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"File {self.id} ({self.original_name})"
