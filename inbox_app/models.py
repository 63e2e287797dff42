"""The callback inbox (SPEC §15): an account's request bins and the requests they captured."""

import json
import secrets
import time
from urllib.parse import quote

from django.conf import settings
from django.db import models

from callbacks_app.models import Delivery
from tasks_app.keys import Mode
from tasks_app.models import Profile

MAX_SCRIPT_BODY = 64 * 1024  # characters of a scripted answer body


def generate_inbox_id() -> str:
    """``inb_`` + 24 hex, time-prefixed like a delivery id."""
    return f"inb_{int(time.time()):08x}{secrets.token_hex(8)}"


def generate_inbox_token() -> str:
    """The 128-bit secret of an inbox's URL."""
    return secrets.token_urlsafe(16)


class Inbox(models.Model):
    """A request bin of one account and mode, and the script of its answers.

    The script: every request gets ``answer_status`` / ``answer_body`` /
    ``answer_headers`` after ``answer_delay_s``, except the first ``fail_count``
    requests since the script was last set ("fail 3 then 200", counted by
    ``received_count``, an atomic F() update, from ``script_set_at_count``) and a random ``failure_rate`` of
    the others, which get ``fail_status``. A request's own query
    (``?status=503&delay=2``) overrides all of it (``inbox_app.answers``).
    """

    id = models.CharField(primary_key=True, max_length=32, default=generate_inbox_id, editable=False)
    profile = models.ForeignKey(Profile, on_delete=models.CASCADE, related_name="inboxes")
    mode = models.CharField(max_length=4, choices=Mode.choices)  # the mode of the key that created it
    name = models.CharField(max_length=200)
    token = models.CharField(max_length=32, unique=True, default=generate_inbox_token, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    answer_status = models.PositiveSmallIntegerField(default=200)
    answer_body = models.TextField(blank=True, default="")
    answer_headers = models.JSONField(default=dict, blank=True)  # name -> value, e.g. Retry-After
    answer_delay_s = models.FloatField(default=0.0)
    fail_count = models.PositiveIntegerField(default=0)
    fail_status = models.PositiveSmallIntegerField(default=500)
    failure_rate = models.FloatField(default=0.0)
    # Requests received so far (the number of the latest captured request), only ever
    # changed by an F() update; and its value when the script was last set, where the
    # "fail N then ..." sequence starts again.
    received_count = models.PositiveIntegerField(default=0, editable=False)
    script_set_at_count = models.PositiveIntegerField(default=0, editable=False)
    # Bytes its captured requests hold (the sum of their stored_bytes), changed with them
    # in the same transaction (inbox_app.usage): the account's quota sums a few inboxes.
    stored_bytes = models.BigIntegerField(default=0, editable=False)

    class Meta:
        verbose_name_plural = "inboxes"
        indexes = [models.Index(fields=["profile", "mode", "-created_at"], name="inbox_list_idx")]

    def __str__(self):
        return f"{self.name} ({self.id})"

    @property
    def url(self) -> str:
        """The absolute URL requests are captured at (any path may follow it)."""
        return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/inbox/{quote(self.token, safe='')}/"


class CapturedRequest(models.Model):
    """One request an inbox received, as it came (secrets masked), with its verification.

    ``verification`` is decided when the request arrives (``inbox_app.verification``),
    against the secrets of that moment: a later rotation does not change it.
    """

    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="requests")
    number = models.PositiveIntegerField()  # the inbox's received_count when it arrived
    method = models.CharField(max_length=16)
    path = models.CharField(max_length=2048)  # after /inbox/<token>, from "/"
    query = models.TextField(blank=True, default="")
    headers = models.JSONField(default=list)  # [[name, value], ...] in the order received
    body = models.BinaryField(default=b"")
    body_size = models.PositiveBigIntegerField(default=0)  # bytes received, kept or not
    truncated = models.BooleanField(default=False)
    # What the row holds of its account's storage quota (scalehooks.quota): the kept body,
    # the path, the query and the headers, in bytes.
    stored_bytes = models.PositiveBigIntegerField(default=0)
    remote_addr = models.CharField(max_length=64, blank=True, default="")
    received_at = models.DateTimeField()
    answer = models.JSONField(default=dict)  # {status, headers, body, delay_s, rule}
    # The delivery named by webhook-id, when it is one of the inbox's account's.
    delivery = models.ForeignKey(Delivery, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    attempt = models.PositiveIntegerField(null=True, blank=True)  # scale-callback-attempt
    verification = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["inbox", "number"], name="captured_request_number_unique"),
        ]
        indexes = [
            models.Index(fields=["received_at"], name="captured_request_received_idx"),
            # An account's usage is summed from the index alone (SQLite keeps the body in the
            # row: reading a column after it would read the body too).
            models.Index(fields=["inbox", "stored_bytes"], name="captured_request_usage_idx"),
        ]

    def __str__(self):
        return f"{self.method} {self.path} ({self.inbox_id} #{self.number})"

    @property
    def verification_checks(self):
        """The verification panel's lines (``inbox_app.verification.checks``)."""
        from inbox_app.verification import checks

        return checks(self.verification)

    @property
    def verified(self) -> bool:
        """Every check passed."""
        return not self.verification.get("reasons")

    @property
    def body_pretty(self) -> str:
        """The body for reading: JSON indented (its keys in the order they came), else as text."""
        from scalehooks import json_input

        text = self.body_text
        try:
            return json.dumps(json_input.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            return text

    @property
    def body_text(self) -> str:
        """The body as text (invalid UTF-8 replaced): what the API and the pages show."""
        return bytes(self.body).decode("utf-8", errors="replace")
