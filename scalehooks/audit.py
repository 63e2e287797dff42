"""Who did what, when and from where (issue 26): every state-changing action of an account's
people, of operators and of the command line, in django-auditlog's ``LogEntry``.

The service that changes state records it (``audit_record``) with what it did; who did it comes
from the context the request or the command set (``acting``): ``AuditMiddleware`` opens one per
request (its address, the surface it came by), the API's permission class names the key, the
portal's decorator the person, the admin its user; a management command opens its own. A job
running without one records the actor "system".

What is recorded is kept out of the hot paths: the callbacks the engine sends are the ledger's
own history; a task's completion by an operator, a resend, a rotation, a setting, a pause are
recorded here. No secret is ever recorded: a rotation records that it happened and the new key's
visible prefix only.
"""

import contextvars
import functools
import getpass
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from auditlog.models import LogEntry
from django.db.models import QuerySet
from django.utils.html import format_html
from django.utils.safestring import mark_safe

SYSTEM = "system"


@dataclass
class Actor:
    """Who acts: ``label`` says it in words ("API key live_ab12…", "ada@example.com"), ``user``
    is the account's or the person's user (None for the command line and the system), ``via``
    the surface (api, portal, admin, cli, system), ``remote_addr`` where the request came from."""

    label: str = SYSTEM
    via: str = SYSTEM
    user: object = None
    remote_addr: str | None = None
    details: dict = field(default_factory=dict)


_actor: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("audit_actor", default=None)


@contextmanager
def acting(actor: Actor):
    """Record what is done inside as ``actor``'s."""
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


def from_command_line(handle):
    """A management command's ``handle``, acting as the command line (and the machine's user)."""

    @functools.wraps(handle)
    def acted(self, *args, **options):
        with acting(Actor(label=f"command line (user {getpass.getuser()})", via="cli")):
            return handle(self, *args, **options)

    return acted


def actor_now() -> Actor:
    return _actor.get() or Actor()


def actor_set(*, label: str, user=None, via: str | None = None) -> None:
    """Name who acts in the current request (its address and surface stay)."""
    current = actor_now()
    _actor.set(replace(current, label=label, user=user, via=via or current.via))


def audit_record(
    *, action: str, target, account_id: int | None, mode: str | None = None, **details
) -> LogEntry:
    """Record ``action`` ("callback.resend", "profile.rotate_api_keys"…) on ``target`` (a model
    instance: the task, the profile, the batch…) of account ``account_id`` by the current actor.
    ``details``: what else says what was done (never a secret)."""
    actor = actor_now()
    return LogEntry.objects.log_create(
        target,
        force_log=True,
        action=LogEntry.Action.UPDATE,
        changes_text=action,
        actor=actor.user if getattr(actor.user, "pk", None) else None,
        remote_addr=actor.remote_addr,
        additional_data={
            "action": action,
            "account_id": account_id,
            "mode": mode,
            "actor": actor.label,
            "via": actor.via,
            **details,
        },
    )


def audit_trail(*, account_id: int | None = None, target=None) -> QuerySet[LogEntry]:
    """Newest first: what was done to ``target``, or to anything of account ``account_id``."""
    entries = LogEntry.objects.all()
    if target is not None:
        entries = entries.filter(content_type__model=target._meta.model_name, object_pk=str(target.pk))
    if account_id is not None:
        entries = entries.filter(additional_data__account_id=account_id)
    return entries.order_by("-timestamp", "-id")


def audit_trail_html(entries) -> str:
    """Entries as the admin shows them in a page: one line each, when, who, from where, what."""
    rows = [
        format_html(
            "<tr><td class='nowrap'>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            entry.timestamp.strftime("%Y-%m-%d %H:%M:%S UTC"),
            (entry.additional_data or {}).get("actor", ""),
            f"{(entry.additional_data or {}).get('via', '')} {entry.remote_addr or ''}".strip(),
            (entry.additional_data or {}).get("action", entry.changes_text),
            _details(entry.additional_data or {}),
        )
        for entry in entries
    ]
    if not rows:
        return "—"
    head = "<table><tr><th>when</th><th>who</th><th>from</th><th>what</th><th>details</th></tr>"
    return mark_safe(head + "".join(rows) + "</table>")


RECORD_KEYS = ("action", "account_id", "actor", "via")


def _details(data: dict) -> str:
    return ", ".join(f"{key}={value}" for key, value in data.items() if key not in RECORD_KEYS)


class AuditMiddleware:
    """Opens the request's audit context: where it came from and by which surface; the API's
    permission class and the portal's decorator then say who."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        via = "api" if path.startswith("/v1/") else "portal" if path.startswith("/portal/") else "web"
        actor = Actor(label="nobody", via=via, remote_addr=request.META.get("REMOTE_ADDR") or None)
        if path.startswith("/admin/"):
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                actor = replace(actor, label=f"operator {user.get_username()}", user=user, via="admin")
        with acting(actor):
            return self.get_response(request)
