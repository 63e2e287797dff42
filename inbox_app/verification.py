"""What the inbox checks of a captured callback (SPEC §15), as a receiver would: pure functions.

- ``auth``: which of the account's callback auth keys ``scale-callback-auth``
  equals (constant-time), ``"live"``, ``"test"`` or None;
- ``signature``: which signing secret ``webhook-signature`` verifies with, the
  current one or the previous one while its rotation overlap lasts, of the mode
  whose auth key matched (else the inbox's mode): ``"current"``,
  ``"previous"`` or None. Signatures are computed by the ``standardwebhooks``
  package; its ``verify`` also refuses a timestamp more than 5 minutes off,
  which here is a reason of its own (``timestamp_skew_s``), so that a stale
  timestamp and a wrong signature are told apart;
- ``timestamp_skew_s``: the time received less ``webhook-timestamp``;
- ``payload_shape_ok``: the body is a task callback (§6.2: ``task_id``,
  ``status``, ``response``, ``task``; ``callback.test`` has that shape too) or
  a batch's (§12: ``batch_name``, ``status``, ``counts``, ``batch``);
- ``reasons``: one sentence for every check that failed.
"""

import hmac
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from scalehooks import json_input
from scalehooks.json_input import JSONInputError

MAX_SKEW_S = 300  # Standard Webhooks' tolerance, what receivers' verify() enforces
TASK_FIELDS = ("task_id", "status", "response", "task")
BATCH_FIELDS = ("batch_name", "status", "counts", "batch")


@dataclass(frozen=True)
class Secrets:
    """What one mode of the account verifies with, at the time the request arrived."""

    auth_key: str
    signing_secret: str
    previous_signing_secret: str = ""  # "" when there is none, or its overlap is over


@dataclass
class Verification:
    auth: str | None = None
    signature: str | None = None
    timestamp_skew_s: int | None = None
    payload_shape_ok: bool = False
    reasons: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.reasons

    def as_dict(self) -> dict:
        return asdict(self)


def header(headers: list[tuple[str, str]], name: str) -> str | None:
    """The first value of header ``name`` (case-insensitive), or None."""
    name = name.lower()
    return next((value for key, value in headers if key.lower() == name), None)


def auth_mode(value: str | None, *, secrets: dict[str, Secrets]) -> str | None:
    """The mode whose callback auth key ``value`` is, compared in constant time."""
    if not value:
        return None
    given = value.encode("utf-8", errors="replace")
    matched = None
    for mode, mode_secrets in secrets.items():  # every key compared: no early exit
        if hmac.compare_digest(given, mode_secrets.auth_key.encode()) and matched is None:
            matched = mode
    return matched


def signature_match(
    *, signatures: str, msg_id: str, timestamp: int, body: bytes, secrets: Secrets
) -> str | None:
    """``"current"`` or ``"previous"``: the secret one of the ``v1,`` signatures was made with."""
    given = [part.partition(",")[2] for part in signatures.split() if part.startswith("v1,")]
    when = datetime.fromtimestamp(timestamp, tz=UTC)
    text = body.decode("utf-8", errors="replace")
    candidates = [("current", secrets.signing_secret), ("previous", secrets.previous_signing_secret)]
    for name, secret in candidates:
        if not secret:
            continue
        expected = Webhook(secret).sign(msg_id, when, text).partition(",")[2]
        if any(hmac.compare_digest(expected.encode(), sig.encode("utf-8", "replace")) for sig in given):
            return name
    return None


def payload_shape_problem(body: bytes) -> str | None:
    """Why ``body`` is not a callback body of §6.2 (or a batch's), or None when it is one."""
    try:
        payload = json_input.loads(body)
    except JSONInputError as exc:
        return f"the body is not JSON ({exc}); a callback body is {{task_id, status, response, task}}"
    except (ValueError, UnicodeDecodeError):
        return "the body is not JSON; a callback body is {task_id, status, response, task}"
    if not isinstance(payload, dict):
        return "the body is not a JSON object; a callback body is {task_id, status, response, task}"
    if "batch_name" in payload:
        missing = [name for name in BATCH_FIELDS if name not in payload]
        if missing or not isinstance(payload.get("batch"), dict):
            return f"the batch callback body lacks {', '.join(missing) or 'a batch object'}"
        return None
    missing = [name for name in TASK_FIELDS if name not in payload]
    if missing:
        return f"the body lacks {', '.join(missing)} (a callback body is {{task_id, status, response, task}})"
    task = payload["task"]
    if not isinstance(task, dict) or task.get("task_id") != payload["task_id"]:
        return "the body's task is not the task named by task_id"
    if task.get("status") != payload["status"]:
        return "the body's status is not its task's status"
    return None


def skew_reason(skew: int) -> str | None:
    if skew > MAX_SKEW_S:
        return f"webhook-timestamp is {skew} s old; receivers reject more than {MAX_SKEW_S} s"
    if skew < -MAX_SKEW_S:
        return f"webhook-timestamp is {-skew} s in the future; receivers reject more than {MAX_SKEW_S} s"
    return None


def verify(
    *,
    headers: list[tuple[str, str]],
    body: bytes,
    received_at: datetime,
    secrets: dict[str, Secrets],
    mode: str,
) -> Verification:
    """Every check of a captured request; ``secrets`` by mode, ``mode`` the inbox's."""
    result = Verification()
    reasons = result.reasons
    auth_value = header(headers, "scale-callback-auth")
    result.auth = auth_mode(auth_value, secrets=secrets)
    if auth_value is None:
        reasons.append("scale-callback-auth is missing")
    elif result.auth is None:
        reasons.append("scale-callback-auth matches neither the live nor the test key")

    msg_id, stamp = header(headers, "webhook-id"), header(headers, "webhook-timestamp")
    signatures = header(headers, "webhook-signature")
    timestamp = int(stamp) if stamp is not None and stamp.strip().isdigit() else None
    if timestamp is not None:
        result.timestamp_skew_s = int(received_at.timestamp()) - timestamp
        if reason := skew_reason(result.timestamp_skew_s):
            reasons.append(reason)
    else:
        reasons.append(
            "webhook-timestamp is missing" if stamp is None else "webhook-timestamp is not a number"
        )

    mode_secrets = secrets[result.auth or mode]
    if not msg_id or not signatures:
        missing = [name for name, v in (("webhook-id", msg_id), ("webhook-signature", signatures)) if not v]
        verb = "are" if len(missing) > 1 else "is"
        reasons.append(f"{' and '.join(missing)} {verb} missing: the signature cannot be checked")
    elif timestamp is not None:
        result.signature = signature_match(
            signatures=signatures, msg_id=msg_id, timestamp=timestamp, body=body, secrets=mode_secrets
        )
        if result.signature is None:
            which = "the current or the previous" if mode_secrets.previous_signing_secret else "the current"
            reasons.append(f"webhook-signature does not verify with {which} signing secret")

    shape_problem = payload_shape_problem(body)
    result.payload_shape_ok = shape_problem is None
    if shape_problem:
        reasons.append(shape_problem)
    return result


@dataclass(frozen=True)
class Check:
    """One line of the verification panel: ✓ or ✗, and what was found."""

    label: str
    ok: bool
    detail: str

    @property
    def mark(self) -> str:
        return "✓" if self.ok else "✗"

    @property
    def css(self) -> str:
        return "ok" if self.ok else "fail"


def checks(verification: dict) -> list[Check]:
    """The panel's lines for a stored verification (``Verification.as_dict()``)."""
    skew = verification.get("timestamp_skew_s")
    auth, signature = verification.get("auth"), verification.get("signature")
    return [
        Check("scale-callback-auth", auth is not None, f"{auth} key" if auth else "no match"),
        Check(
            "webhook-signature",
            signature is not None,
            f"{signature} secret" if signature else "does not verify",
        ),
        Check(
            "webhook-timestamp",
            skew is not None and abs(skew) <= MAX_SKEW_S,
            "missing" if skew is None else f"skew {skew} s",
        ),
        Check(
            "payload shape",
            bool(verification.get("payload_shape_ok")),
            "task_id, status, response and task"
            if verification.get("payload_shape_ok")
            else "not a callback body",
        ),
    ]
