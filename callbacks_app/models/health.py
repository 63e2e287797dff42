"""Target health (SPEC §16): per account, mode and origin, its ten-minute slots and its alerts.
Written by ``callbacks_app.health`` and ``callbacks_app.pausing``, read by ``health_selectors``."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from callbacks_app.targets import ORIGIN_MAX_LENGTH


class TargetHealth(models.Model):
    """How one account's callbacks of one mode fare at one target origin (SPEC §16).

    Kept current by ``callbacks_app.health`` in the transaction that records
    each batch of attempts (one row per origin the batch touched), never by
    scanning the ledger. Its state changes (healthy → failing → healthy, paused)
    happen there under the row's lock, so each transition, and the alert it
    records, happens once however many workers and clusters record at once.
    """

    class State(models.TextChoices):
        HEALTHY = "healthy", "Healthy"
        FAILING = "failing", "Failing"
        PAUSED = "paused", "Paused"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="target_health"
    )
    mode = models.CharField(max_length=8)  # tasks_app.models.Mode
    origin = models.CharField(max_length=ORIGIN_MAX_LENGTH)
    state = models.CharField(max_length=8, choices=State.choices, default=State.HEALTHY)
    consecutive_failures = models.PositiveIntegerField(default=0)
    first_failure_at = models.DateTimeField(null=True, blank=True)  # of the current run of failures
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # The last failed attempt: its class (health.FailureClass), HTTP status, error and answer
    # excerpt, both already scrubbed of the account's secrets (callbacks_app.masking).
    last_error_class = models.CharField(max_length=16, blank=True, default="")
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    last_excerpt = models.TextField(blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    failing_emailed_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    # While paused, the retry windows of its deliveries are frozen: up to here they were moved forward.
    windows_frozen_at = models.DateTimeField(null=True, blank=True)
    paused_by = models.CharField(
        max_length=160, blank=True, default=""
    )  # "automatic", "account", "operator …"
    next_probe_at = models.DateTimeField(null=True, blank=True)
    probe_delivery_id = models.CharField(max_length=32, blank=True, default="")
    exhausted_unreported = models.PositiveIntegerField(default=0)  # since the last delivery.exhausted alert
    exhausted_alerted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "callback target"
        verbose_name_plural = "callback targets"
        ordering = ["owner", "mode", "origin"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "mode", "origin"], name="target_health_unique"),
        ]
        indexes = [
            # The banner, the gauge and the picking's paused targets: the few rows not healthy.
            models.Index(fields=["state"], name="target_health_unwell_idx", condition=~Q(state="healthy")),
        ]

    def __str__(self):
        return f"{self.origin} ({self.mode}, {self.state})"


class TargetHealthSlot(models.Model):
    """Ten minutes (``health.SLOT``) of a target's attempts: counts and a duration histogram
    (``health.DURATION_BUCKETS_MS``). The 1 h and 24 h figures are read from at most 145 of these."""

    health = models.ForeignKey(TargetHealth, on_delete=models.CASCADE, related_name="slots")
    start = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    exhausted = models.PositiveIntegerField(default=0)
    durations = models.JSONField(default=list)  # counts per bucket of health.DURATION_BUCKETS_MS, then +Inf

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["health", "start"], name="target_health_slot_unique"),
        ]

    def __str__(self):
        return f"{self.health_id} from {self.start:%Y-%m-%d %H:%M}"


class TargetAlert(models.Model):
    """An alert about a target, recorded once (by the transition that caused it), then fanned out."""

    class Kind(models.TextChoices):
        FAILING = "target.failing", "Target failing"
        RECOVERED = "target.recovered", "Target recovered"
        EXHAUSTED = "delivery.exhausted", "Deliveries exhausted"
        PAUSED = "target.paused", "Target paused"

    health = models.ForeignKey(TargetHealth, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    details = models.JSONField(default=dict)
    email = models.BooleanField(default=False)  # whether the account is emailed (the dedupe windows)
    created_at = models.DateTimeField()
    fanned_out_at = models.DateTimeField(null=True, blank=True)
    # The lease of the job fanning it out (at least once: a job that died leaves it when this passes).
    taken_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_at"], name="target_alert_created_idx"),
            # The dispatchers' look for alerts whose fan-out job was lost: the few not fanned out yet.
            models.Index(
                fields=["created_at"], name="target_alert_unsent_idx", condition=Q(fanned_out_at__isnull=True)
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.health_id} at {self.created_at}"
