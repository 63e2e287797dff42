"""``manage.py resend_callback``: re-send task callbacks from the command line (SPEC §6.7, §7).

Every task goes through ``callbacks_app.resends.callback_resend``, the
service behind the API route and the admin actions.
"""

import contextlib
import re
import signal
import threading
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.db.transaction import TransactionManagementError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from tqdm import tqdm

from callbacks_app.engine import deliveries_deliver_until_finished
from callbacks_app.errors import NoCallbackTarget, ResendLimitReached
from callbacks_app.models import Delivery
from callbacks_app.resends import (
    RESENDABLE_STATUSES,
    callback_batch_resend,
    callback_batch_resend_refusal,
    callback_resend,
    callback_resend_refusal,
)
from callbacks_app.task_targets import callback_target
from scalehooks.audit import from_command_line
from scalehooks.errors import IllegalStateChange
from tasks_app.models import Batch, Task

EXIT_NOT_QUEUED = 1  # some task could not be queued (or, with --dry-run, would not be)
EXIT_NOT_DELIVERED = 2  # with --wait: everything was queued, but some delivery failed
EXIT_STILL_PENDING = 3  # with --wait --timeout: the time ran out before every delivery finished
EXIT_INTERRUPTED = 130  # Ctrl-C (SIGINT), as a shell reports a command it ended

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(value: str) -> datetime:
    """``2024-05-01``, ``2024-05-01T12:00[:00][+02:00|Z]`` (naive means UTC), or an
    age such as ``30m``, ``6h``, ``2d``, ``1w`` (that long before now)."""
    value = value.strip()
    relative = _RELATIVE.match(value)
    if relative:
        amount, unit = relative.groups()
        return timezone.now() - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        moment = parse_datetime(value.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise ValueError(value)
        moment = datetime(day.year, day.month, day.day)
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


parse_when.__name__ = "date, datetime or age (e.g. 6h)"  # argparse's error message


def positive_seconds(value: str) -> float:
    seconds = float(value)
    if not 0 < seconds < float("inf"):
        raise ValueError(value)
    return seconds


positive_seconds.__name__ = "number of seconds"


class Command(BaseCommand):
    help = (
        "Re-send the callbacks of tasks, given by id or selected with options; only completed "
        "and error tasks can be resent. Older pending deliveries of a task are superseded. "
        f"Exit status {EXIT_NOT_QUEUED} when any task could not be queued; with --wait, "
        f"{EXIT_NOT_DELIVERED} when all were queued but a delivery failed; with --timeout, "
        f"{EXIT_STILL_PENDING} when the time ran out first; {EXIT_INTERRUPTED} on Ctrl-C. A delivery "
        "left pending (--timeout, Ctrl-C) stays queued: the workers send its next attempts."
    )

    def add_arguments(self, parser):
        parser.add_argument("task_ids", nargs="*", metavar="TASK_ID", help="Tasks to resend.")
        selection = parser.add_argument_group("selection (instead of task ids)")
        selection.add_argument(
            "--failed", action="store_true", help="Tasks whose callback_succeeded is false."
        )
        selection.add_argument(
            "--since", type=parse_when, help="Tasks updated at or after this time (UTC unless given)."
        )
        selection.add_argument("--until", type=parse_when, help="Tasks updated before this time.")
        selection.add_argument("--account", metavar="EMAIL", help="Tasks of this account only.")
        selection.add_argument(
            "--status",
            choices=[status.value for status in RESENDABLE_STATUSES],
            help="Tasks in this status only (default: completed and error).",
        )
        parser.add_argument(
            "--batch",
            metavar="NAME",
            help=(
                "Resend the batch.completed callback of the completed batch NAME instead "
                "(with --account when several accounts have a batch of that name)."
            ),
        )
        parser.add_argument("--dry-run", action="store_true", help="List what would be sent; send nothing.")
        parser.add_argument(
            "--wait",
            action="store_true",
            help="Deliver in the foreground, attempt after attempt, and report each outcome.",
        )
        parser.add_argument(
            "--timeout",
            type=positive_seconds,
            metavar="SECONDS",
            help=(
                "With --wait: stop waiting after SECONDS (plus at most one attempt's time limit); "
                "what is still pending stays queued for the workers."
            ),
        )

    @from_command_line
    def handle(self, *args, **options):
        self.bar = tqdm(disable=True)
        self.waited: list[str] = []  # the deliveries --wait delivers
        try:
            self._handle(**options)
        except KeyboardInterrupt:
            self._interrupted()

    def _interrupted(self) -> None:
        """Ctrl-C: what was queued stays queued (the workers send it); a summary, no traceback."""
        self.bar.close()
        if self.waited:
            try:
                outcomes = Delivery.objects.in_bulk(self.waited)
            except (DatabaseError, TransactionManagementError):  # interrupted inside a transaction
                outcomes = None
            if outcomes is not None:
                delivered, failed, pending = self._counts(outcomes)
                self.stdout.write(f"{delivered} delivered, {failed} failed, {pending} still pending.")
        raise CommandError(
            "Interrupted (Ctrl-C). What was queued stays queued: the workers send its next attempts.",
            returncode=EXIT_INTERRUPTED,
        )

    def _handle(self, *, task_ids, dry_run, wait, batch, timeout, **options):
        if dry_run and wait:
            raise CommandError("--dry-run and --wait exclude each other.")
        if timeout is not None and not wait:
            raise CommandError("--timeout needs --wait: it bounds the wait in the foreground.")
        self.timeout = timeout
        if batch is not None:
            if task_ids or any(options[name] for name in ("failed", "since", "until", "status")):
                raise CommandError("--batch takes no task ids and no selection but --account.")
            self._resend_batch(batch, account=options["account"], dry_run=dry_run, wait=wait)
            return
        selecting = any(options[name] for name in ("failed", "since", "until", "account", "status"))
        if task_ids and selecting:
            raise CommandError("Give task ids or selection options, not both.")
        if not task_ids and not selecting:
            raise CommandError(
                "Nothing selected: give task ids or at least one of --failed, --since, --until, "
                "--account, --status."
            )
        ids = list(dict.fromkeys(task_ids)) if task_ids else self._select(**options)

        self.bar = tqdm(
            total=len(ids),
            desc="Checking" if dry_run else "Queueing",
            unit="task",
            file=self.stdout._out,
            disable=not self.stdout.isatty(),
            leave=True,
        )
        with self.bar:
            if dry_run:
                refused = self._dry_run(ids)
            else:
                queued, refused = self._queue(ids, enqueue=not wait)
        if dry_run:
            self._finish(
                f"Would resend {len(ids) - refused} of {len(ids)} task(s); {refused} would be refused.",
                EXIT_NOT_QUEUED if refused else 0,
            )
            return
        if not wait:
            self._finish(
                f"Queued {len(queued)} of {len(ids)} task(s); {refused} could not be queued.",
                EXIT_NOT_QUEUED if refused else 0,
            )
            return
        outcomes = self._wait(queued)
        delivered, failed, pending = self._counts(outcomes)
        code = EXIT_NOT_QUEUED if refused else self._wait_status(failed=failed, pending=pending)
        self._finish(
            f"Queued {len(queued)} of {len(ids)} task(s); {refused} could not be queued; "
            f"{delivered} delivered, {failed} failed{f', {pending} still pending' if pending else ''}.",
            code,
        )

    # --- a batch ------------------------------------------------------------
    def _resend_batch(self, name: str, *, account: str | None, dry_run: bool, wait: bool) -> None:
        batches = Batch.objects.filter(name=name).select_related("owner")
        if account:
            batches = batches.filter(owner__email__iexact=account)
        found = list(batches[:10])
        if not found:
            raise CommandError(f"No batch named {name!r}" + (f" of {account}." if account else "."))
        if len(found) > 1:
            whose = ", ".join(f"{b.owner.email} ({b.mode})" for b in found)
            raise CommandError(f"Several batches are named {name!r} ({whose}): give --account.")
        (batch,) = found
        self.bar = tqdm(disable=True)
        refusal = callback_batch_resend_refusal(batch=batch)
        if refusal is not None:
            self._refuse(f"not queued batch {name}: {refusal}")
            self._finish("Queued 0 of 1 batch(es); 1 could not be queued.", EXIT_NOT_QUEUED)
        if dry_run:
            self._say(f"would resend batch {name} ({batch.status}) to {batch.callback}")
            self._finish("Would resend 1 of 1 batch(es); 0 would be refused.", 0)
            return
        try:
            delivery = callback_batch_resend(batch_id=batch.id, enqueue=not wait)
        except (IllegalStateChange, NoCallbackTarget) as exc:
            self._refuse(f"not queued batch {name}: {exc}")
            self._finish("Queued 0 of 1 batch(es); 1 could not be queued.", EXIT_NOT_QUEUED)
            return
        self._say(f"queued batch {name} as delivery {delivery.id} to {delivery.target}")
        if not wait:
            self._finish("Queued 1 of 1 batch(es); 0 could not be queued.", 0)
            return
        outcomes = self._wait({delivery.id: f"batch {name}"})
        delivered, failed, pending = self._counts(outcomes)
        self._finish(
            f"Queued 1 of 1 batch(es); 0 could not be queued; {delivered} delivered, {failed} failed"
            f"{f', {pending} still pending' if pending else ''}.",
            self._wait_status(failed=failed, pending=pending),
        )

    # --- selection --------------------------------------------------------
    def _select(self, *, failed, since, until, account, status, **_) -> list[str]:
        tasks = Task.objects.filter(status__in=[status] if status else RESENDABLE_STATUSES)
        if failed:
            tasks = tasks.filter(callback_succeeded=False)
        # --since/--until filter on updated_at: set by every change of the task,
        # completed and error tasks alike (completed_at is null for error tasks).
        if since:
            tasks = tasks.filter(updated_at__gte=since)
        if until:
            tasks = tasks.filter(updated_at__lt=until)
        if account:
            user = get_user_model().objects.filter(email__iexact=account).first()
            if user is None:
                raise CommandError(f"No account {account}.")
            tasks = tasks.filter(owner=user)
        return list(tasks.order_by("updated_at", "id").values_list("id", flat=True))

    # --- output -----------------------------------------------------------
    def _say(self, line: str) -> None:
        if self.bar.disable:
            self.stdout.write(line)
        else:
            self.bar.write(line, file=self.stdout._out)

    def _refuse(self, line: str) -> None:
        if self.bar.disable:
            self.stderr.write(line)
        else:
            self.bar.write(line, file=self.stderr._out)

    def _finish(self, summary: str, code: int) -> None:
        self.stdout.write(summary)
        if code == EXIT_NOT_QUEUED:
            raise CommandError("Some tasks could not be queued (see above).", returncode=code)
        if code == EXIT_NOT_DELIVERED:
            raise CommandError("Some callbacks were not delivered (see above).", returncode=code)
        if code == EXIT_STILL_PENDING:
            raise CommandError(
                f"Stopped waiting after {self.timeout:g} s: the workers send the pending deliveries' "
                "next attempts.",
                returncode=code,
            )

    @staticmethod
    def _counts(outcomes: dict[str, Delivery]) -> tuple[int, int, int]:
        """(delivered, failed, still pending) of the deliveries waited for."""
        statuses = [delivery.status for delivery in outcomes.values()]
        delivered = statuses.count(Delivery.Status.SUCCEEDED)
        pending = statuses.count(Delivery.Status.PENDING)
        return delivered, len(statuses) - delivered - pending, pending

    @staticmethod
    def _wait_status(*, failed: int, pending: int) -> int:
        return EXIT_NOT_DELIVERED if failed else (EXIT_STILL_PENDING if pending else 0)

    # --- the three modes ----------------------------------------------------
    def _dry_run(self, ids: list[str]) -> int:
        refused = 0
        for task_id in ids:
            task = Task.objects.filter(id=task_id).first()
            refusal = callback_resend_refusal(task=task) if task else LookupError(f"No task {task_id}.")
            if refusal is None:
                self._say(f"would resend {task.id} ({task.status}) to {callback_target(task)}")
            else:
                refused += 1
                self._refuse(f"would not resend {task_id}: {refusal}")
            self.bar.update()
        return refused

    def _queue(self, ids: list[str], *, enqueue: bool) -> tuple[dict[str, str], int]:
        queued: dict[str, str] = {}  # delivery id -> task id
        refused = 0
        for task_id in ids:
            try:
                delivery = callback_resend(task_id=task_id, enqueue=enqueue)
            except Task.DoesNotExist:
                refused += 1
                self._refuse(f"not queued {task_id}: no such task")
            except (IllegalStateChange, NoCallbackTarget, ResendLimitReached) as exc:
                refused += 1
                self._refuse(f"not queued {task_id}: {exc}")
            else:
                queued[delivery.id] = task_id
                self._say(f"queued {task_id} as delivery {delivery.id} to {delivery.target}")
            self.bar.update()
        return queued, refused

    @contextlib.contextmanager
    def _first_ctrl_c_stops(self, stop: threading.Event):
        """While waiting, a first Ctrl-C sets ``stop``: the attempt under way is recorded, none
        follows. A second one interrupts at once (that attempt then counts as unfinished and is
        sent again once its lease ends)."""
        if threading.current_thread() is not threading.main_thread():
            yield  # signals reach the main thread only
            return

        def first(signum, frame):
            stop.set()
            signal.signal(signal.SIGINT, signal.default_int_handler)
            self._refuse("Stopping after the attempt under way (Ctrl-C again to stop at once).")

        previous = signal.signal(signal.SIGINT, first)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def _wait(self, queued: dict[str, str]) -> dict[str, Delivery]:
        if not queued:
            return {}
        task_of = queued

        def on_attempt(attempt):
            if attempt.succeeded:
                outcome = f"delivered ({attempt.status_code or 'accepted'}, {attempt.duration_ms} ms)"
            else:
                outcome = attempt.error or f"HTTP {attempt.status_code}"
            self._say(f"{task_of[attempt.delivery_id]} attempt {attempt.number}: {outcome}")

        def on_finished(delivery):
            self._say(f"{task_of[delivery.id]} {delivery.status} after {delivery.attempt_count} attempt(s)")
            self.bar.update()

        self.bar = tqdm(
            total=len(queued),
            desc="Delivering",
            unit="task",
            file=self.stdout._out,
            disable=not self.stdout.isatty(),
            leave=True,
        )
        self.waited = list(queued)
        stop = threading.Event()
        with self.bar, self._first_ctrl_c_stops(stop):
            outcomes = deliveries_deliver_until_finished(
                delivery_ids=list(queued),
                timeout=self.timeout,
                on_attempt=on_attempt,
                on_finished=on_finished,
                stop=stop,
            )
        for delivery in outcomes.values():
            if delivery.status == Delivery.Status.PENDING:
                due = delivery.next_attempt_at
                self._say(
                    f"{task_of[delivery.id]} still pending after {delivery.attempt_count} attempt(s)"
                    + (f"; next attempt at {due:%Y-%m-%d %H:%M:%S} UTC" if due else "")
                    + ": the workers send its next attempts."
                )
        if stop.is_set():
            raise KeyboardInterrupt
        return outcomes
