import secrets
import time

from django.conf import settings
from django.db import models
from django.db.models import Q

from callbacks_app.models.feed import FeedSeq, FeedXid
from callbacks_app.targets import ORIGIN_MAX_LENGTH, target_origin
from tasks_app.models import Batch, Task


def generate_delivery_id() -> str:
    """``msg_`` + 24 hex, time-prefixed; sent as ``webhook-id`` (stable across retries)."""
    return f"msg_{int(time.time()):08x}{secrets.token_hex(8)}"


class Delivery(models.Model):
    """One callback to deliver: an event of a task, its target and frozen payload.

    The row is the source of truth for what is due: ``next_attempt_at`` says
    when, ``attempt_count`` how many attempts were made, and the lease
    (``lease_token`` / ``leased_until``) who may send it now. Every change of
    those columns is a conditional UPDATE with one owner per transition: the
    lease in ``callbacks_app.engine.leases``, an attempt's outcome in
    ``callbacks_app.engine.recording``, resends in ``callbacks_app.services``.
    """

    class Event(models.TextChoices):
        COMPLETED = "task.completed", "Task completed"
        ERROR = "task.error", "Task error"
        AUDITED = "task.audited", "Task audited"
        RECALLED = "task.recalled", "Task recalled"
        RESENT = "task.resent", "Callback resent"
        BATCH_COMPLETED = "batch.completed", "Batch completed"
        TEST = "callback.test", "Test callback"  # from the portal: no task, no batch
        OPS_ALERT = "ops.alert", "Operators' alert"  # to OPS_WEBHOOK_URLS: no task, no batch

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        SUPERSEDED = "superseded", "Superseded"
        # An event of a task (or batch) that had no callback target: recorded, finished at once,
        # never sent (the engine picks pending rows only), so that the feed (SPEC §17) has it.
        NOT_SENT = "not_sent", "Not sent (no target)"

    class TargetKind(models.TextChoices):
        HTTP = "http", "HTTP"
        EMAIL = "email", "Email"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.SUPERSEDED, Status.NOT_SENT)

    id = models.CharField(primary_key=True, max_length=32, default=generate_delivery_id, editable=False)
    # The task whose callback this is, or the batch (a ``batch.completed`` callback): at most
    # one; neither for a ``callback.test`` (a sample payload sent from the portal, SPEC §14).
    # The foreign keys here carry no index of their own (``db_index=False``): each is the
    # first column of one in ``Meta.indexes`` (delivery_task_idx, delivery_batch_idx,
    # delivery_portal_idx), which serves its lookups, and every index is written at each
    # of a delivery's three writes (created, leased, recorded).
    task = models.ForeignKey(
        Task, on_delete=models.CASCADE, related_name="deliveries", null=True, blank=True, db_index=False
    )
    batch = models.ForeignKey(
        Batch, on_delete=models.CASCADE, related_name="deliveries", null=True, blank=True, db_index=False
    )
    # The account whose callback this is (the task's owner): whose profile signs it, and whose share
    # of the engine it takes. Filled from the task when not given. NULL for an operators' alert
    # (``ops.alert``, SPEC §6.1), which belongs to no account: no account's API, portal, health,
    # fair share or email budget counts it, and ``OPS_WEBHOOK_SECRET`` signs it.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="callback_deliveries",
        db_index=False,
        null=True,
        blank=True,
    )
    event = models.CharField(max_length=32, choices=Event.choices)
    target = models.CharField(max_length=2048)
    target_kind = models.CharField(max_length=8, choices=TargetKind.choices, default=TargetKind.HTTP)
    # Where the target is sent (``targets.target_origin``: ``scheme://host:port``, or an email's
    # domain): what the per-origin caps count. Filled from the target when not given.
    target_origin = models.CharField(max_length=ORIGIN_MAX_LENGTH, blank=True, default="")
    # The mode of its task or batch (filled from it on save), or of the portal side that sent a
    # ``callback.test``: what the portal filters on, with the owner.
    is_test = models.BooleanField(default=False)
    # The exact body every attempt sends (compact UTF-8 JSON), frozen at event time.
    payload = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # NULL, not "": no lease (the claim's UPDATE compares tokens).
    lease_token = models.CharField(max_length=32, null=True, blank=True, editable=False)  # noqa: DJ001
    leased_until = models.DateTimeField(null=True, blank=True)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The row's place in the feed (SPEC §17), filled by the database whichever statement
    # inserts the row (``callbacks_app.models.feed``): never written by the application.
    feed_xid = models.BigIntegerField(db_default=FeedXid(), editable=False)
    feed_seq = models.BigIntegerField(db_default=FeedSeq(), null=True, editable=False)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(task__isnull=False, batch__isnull=True)
                | Q(task__isnull=True, batch__isnull=False)
                | Q(task__isnull=True, batch__isnull=True, event__in=["callback.test", "ops.alert"]),
                name="delivery_of_a_task_or_a_batch_or_neither",
            ),
            # An account's callback has its account; an operators' alert has none.
            models.CheckConstraint(
                condition=Q(owner__isnull=False) & ~Q(event="ops.alert")
                | Q(owner__isnull=True, event="ops.alert"),
                name="delivery_of_an_account_unless_an_operators_alert",
            ),
        ]
        indexes = [
            # The picking's query: pending rows by due time. With
            # the account, so that looking past one account's due backlog for
            # other accounts' work (engine.picking) rejects its rows from the
            # index: 0.1 ms instead of 1.9 ms over 1,000 due rows on SQLite. Not
            # with the lease: SQLite then counts the sends in flight from this
            # index (a skip-scan of every pending row) instead of the one below.
            models.Index(
                fields=["next_attempt_at", "owner"],
                name="delivery_due_idx",
                condition=Q(status="pending"),
            ),
            # The pick's due rows that were never leased since their last attempt
            # (engine.pick_sql.due_candidates): without the sends in flight, which
            # are the oldest due rows, so a pick does not step over them. With the
            # account, as delivery_due_idx, for the look past one account's backlog.
            models.Index(
                fields=["next_attempt_at", "owner"],
                name="delivery_unleased_due_idx",
                condition=Q(status="pending", leased_until__isnull=True),
            ),
            # Sends in flight by origin and account (engine.picking.deliveries_to_send,
            # at every claim): leased rows only, a handful, however many wait to be
            # retried, and the columns the count groups by, so that it reads the
            # index alone. SQLite, with or without statistics, searches it rather
            # than scanning delivery_due_idx. On the origin (at most 300
            # characters), not the target: a callback URL may be longer than a
            # PostgreSQL B-tree entry may hold.
            models.Index(
                fields=["leased_until", "target_origin", "owner"],
                name="delivery_in_flight_origin_idx",
                condition=Q(status="pending", leased_until__isnull=False),
            ),
            models.Index(fields=["task", "-created_at"], name="delivery_task_idx"),
            # The feed (callbacks_app.feed): one account's side in feed order, after a cursor.
            models.Index(fields=["owner", "is_test", "feed_xid", "feed_seq"], name="delivery_feed_idx"),
            # The portal's callbacks list: one account's side, newest first (cursor pages).
            models.Index(fields=["owner", "is_test", "-created_at", "-id"], name="delivery_portal_idx"),
            models.Index(
                fields=["batch", "-created_at"], name="delivery_batch_idx", condition=Q(batch__isnull=False)
            ),
            # The dashboard (callbacks_app.selectors): deliveries of a window by
            # outcome and target; succeeded and failed deliveries per hour (one
            # range count per hour). Partial, so that no status-first index can
            # lure the picking's query away from delivery_due_idx.
            models.Index(fields=["created_at", "status"], name="delivery_created_status_idx"),
            models.Index(
                fields=["finished_at"], name="delivery_succeeded_idx", condition=Q(status="succeeded")
            ),
            models.Index(fields=["finished_at"], name="delivery_failed_idx", condition=Q(status="failed")),
        ]

    def __str__(self):
        return f"{self.event} {self.id} ({self.status})"

    def save(self, *args, **kwargs):
        if self.owner_id is None and self.task_id is not None:
            self.owner_id = Task.objects.filter(id=self.task_id).values_list("owner_id", flat=True).get()
        subject = self.subject
        if subject is not None:
            self.is_test = subject.is_test
        if not self.target_origin and self.target:
            self.target_origin = target_origin(self.target)
        super().save(*args, **kwargs)

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def subject(self) -> Task | Batch | None:
        """The task or the batch whose callback this is (None for a ``callback.test`` or an
        operators' alert)."""
        if self.task_id is not None:
            return self.task
        return self.batch if self.batch_id is not None else None

    @property
    def is_ops_alert(self) -> bool:
        return self.event == self.Event.OPS_ALERT

    @property
    def mode(self) -> str:
        """The mode of its task or batch (``is_test`` is theirs), or of a test callback; an
        operators' alert: live. Whose callback auth key it carries."""
        return "test" if self.is_test else "live"


class DeliveryAttempt(models.Model):
    """One try of a delivery: what was sent (secrets masked) and what came back."""

    # The error an attempt carries from the moment it is claimed until its
    # result is recorded: it stays when the worker dies in between.
    UNFINISHED = "The attempt did not finish: its worker stopped (killed or timed out)."

    # No index of its own: attempt_number_unique (delivery, number) serves its lookups.
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts", db_index=False)
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    # When the attempt was due (the delivery's next attempt time when it was claimed): the
    # inbox's timing view (SPEC §15) sets the arrival against it. NULL on older rows.
    due_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)  # None: no HTTP answer
    error = models.TextField(blank=True, default="")
    response_excerpt = models.TextField(blank=True, default="")
    request_headers = models.JSONField(default=dict)
    succeeded = models.BooleanField(default=False)
    # The target was a private address that only the account's allowed networks
    # opened (SPEC §8): its error and response excerpt are shown to operators,
    # never to the customer.
    private_target = models.BooleanField(default=False)
    # When the delivery was due as this attempt was claimed (its ``next_attempt_at``):
    # how late an attempt started. None for attempts recorded before it was kept.
    due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            # Two workers can never both record attempt N of a delivery.
            models.UniqueConstraint(fields=["delivery", "number"], name="attempt_number_unique"),
        ]
        indexes = [
            # Attempts by start time (the dashboard, the retention): the dashboard's percentiles,
            # its attempts succeeded and failed and its chart read these columns alone. The
            # recording rewrites the entry anyway (it sets the duration): ``succeeded`` costs no write.
            models.Index(fields=["started_at", "duration_ms", "succeeded"], name="attempt_latency_idx"),
        ]

    def __str__(self):
        return f"attempt {self.number} of {self.delivery_id}"


class FailedDelivery(Delivery):
    """Failed deliveries only: a filtered changelist in the admin (as django-q2's ``Failure``)."""

    class Meta:
        proxy = True
        verbose_name = "failed delivery"
        verbose_name_plural = "failed deliveries"


class EmailConfirmation(models.Model):
    """An email address an account sends callbacks to, and whether its holder confirmed it.

    Nothing is sent to an address until it is confirmed (as AWS SNS does for
    email subscriptions): the first callback to an address of an account asks
    for a confirmation email with a one-time link, and its deliveries wait
    until the link is followed (``callbacks_app.confirmations``). The link's
    token is stored only as a hash, and forgotten once used.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_confirmations"
    )
    address = models.CharField(max_length=320)  # as ``confirmations.normalized_address`` gives it
    token_hash = models.CharField(max_length=64, blank=True, default="", db_index=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    requested_at = models.DateTimeField(null=True, blank=True)  # a confirmation email was last asked for
    sent_at = models.DateTimeField(null=True, blank=True)  # ... and accepted by the mail server
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "address"], name="email_confirmation_unique"),
        ]

    def __str__(self):
        return f"{self.address} ({'confirmed' if self.confirmed_at else 'unconfirmed'})"

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class Recovery(models.Model):
    """A portal request to resend every failed delivery of a time window, and its progress.

    Created with the number of tasks and batches to resend (``total``, the count the page
    showed before the customer confirmed); a django-q2 job (``callbacks_app.recovery``)
    resends them one by one, counting ``done`` (of which ``resent`` and ``skipped``, a
    resend refused, e.g. by the resend limit) as it goes; the page polls this row.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recoveries")
    is_test = models.BooleanField(default=False)
    since = models.DateTimeField()
    until = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    resent = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"recovery {self.id} ({self.done}/{self.total}, {self.status})"

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.status == self.Status.FINISHED else 0
        return round(100 * self.done / self.total)
