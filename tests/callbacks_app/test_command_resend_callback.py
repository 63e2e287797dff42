"""``manage.py resend_callback`` (SPEC §7): selection, --dry-run, --wait, progress bar, exit status."""

import io
import os
import signal
import threading
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from callbacks_app.models import Delivery
from tasks_app.accounts import account_create
from tasks_app.models import Task
from tests.conftest import deliver_until_finished
from tests.factories import TaskFactory
from tests.servers import Answer

pytestmark = pytest.mark.django_db(transaction=True)


def finished_task(owner, url, *, callback_succeeded, updated_ago=timedelta(0), status="completed"):
    """A task whose first callback finished ``callback_succeeded``, last updated ``updated_ago``."""
    task = TaskFactory(
        owner=owner,
        callback_url=url,
        status=status,
        response={"category": "red"},
        completed_at=timezone.now(),
    )
    Task.objects.filter(id=task.id).update(
        callback_succeeded=callback_succeeded, updated_at=timezone.now() - updated_ago
    )
    return task


def run(*args) -> tuple[str, str, int]:
    """stdout, stderr (with the error ``manage.py`` prints there) and the exit status."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("resend_callback", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), err.getvalue() + f"CommandError: {exc}\n", exc.returncode
    return out.getvalue(), err.getvalue(), 0


@pytest.fixture
def tasks(account, receiver):
    """Failed recently, failed long ago, and succeeded recently."""
    owner = account.user
    return {
        "failed_recently": finished_task(owner, receiver.url, callback_succeeded=False),
        "failed_long_ago": finished_task(
            owner, receiver.url, callback_succeeded=False, updated_ago=timedelta(days=10)
        ),
        "succeeded": finished_task(owner, receiver.url, callback_succeeded=True),
    }


def test_dry_run_lists_the_selection_and_sends_nothing(tasks, receiver):
    out, _, code = run("--failed", "--since", "1d", "--dry-run")

    assert code == 0
    assert f"would resend {tasks['failed_recently'].id} (completed) to {receiver.url}" in out
    assert tasks["failed_long_ago"].id not in out
    assert tasks["succeeded"].id not in out
    assert "Would resend 1 of 1 task(s); 0 would be refused." in out
    assert not Delivery.objects.exists()


def test_since_and_until_take_dates_and_select_on_updated_at(tasks):
    since = (timezone.now() - timedelta(days=11)).date().isoformat()
    until = (timezone.now() - timedelta(days=9)).isoformat()

    out, _, _ = run("--failed", "--since", since, "--until", until, "--dry-run")

    assert tasks["failed_long_ago"].id in out
    assert tasks["failed_recently"].id not in out


def test_without_wait_each_task_gets_a_queued_delivery_that_reaches_the_receiver(tasks, receiver):
    out, _, code = run("--failed", "--since", "1d")

    assert code == 0
    delivery = Delivery.objects.get()
    assert delivery.task_id == tasks["failed_recently"].id
    assert delivery.event == Delivery.Event.RESENT
    assert f"queued {delivery.task_id} as delivery {delivery.id}" in out
    assert "Queued 1 of 1 task(s); 0 could not be queued." in out
    deliver_until_finished(delivery.id)
    assert receiver.requests[0].header("webhook-id") == delivery.id


def test_wait_delivers_in_the_foreground_and_reports_each_attempt(tasks, receiver, settings):
    settings.CALLBACK_RETRY_SCHEDULE = [0.1]
    receiver.answer(Answer(500), Answer(200))
    task_id = tasks["failed_recently"].id

    out, _, code = run(task_id, "--wait")

    assert code == 0
    assert f"{task_id} attempt 1: HTTP 500" in out
    assert f"{task_id} attempt 2: delivered (200" in out
    assert f"{task_id} succeeded after 2 attempt(s)" in out
    assert out.rstrip().endswith("1 delivered, 0 failed.")
    assert [r.json()["task_id"] for r in receiver.requests] == [task_id, task_id]
    task = Task.objects.get(id=task_id)
    assert task.callback_succeeded is True


def test_wait_exits_2_when_a_delivery_fails(tasks, receiver, settings):
    settings.CALLBACK_RETRY_SCHEDULE = []
    receiver.answer(Answer(500))

    out, _, code = run(tasks["failed_recently"].id, "--wait")

    assert code == 2
    assert "0 delivered, 1 failed." in out


def test_wait_with_a_timeout_stops_waiting_and_leaves_the_delivery_to_the_workers(tasks, receiver, settings):
    # Given a receiver that is down, and a retry schedule longer than the wait.
    settings.CALLBACK_RETRY_SCHEDULE = [0.3] * 20
    receiver.answer(Answer(503))
    task_id = tasks["failed_recently"].id

    # When the operator waits at most one second,
    out, err, code = run(task_id, "--wait", "--timeout", "1")

    # the command stops waiting with its own exit status and says what is left, which stays queued.
    assert code == 3, out + err
    delivery = Delivery.objects.get(task_id=task_id)
    assert delivery.status == Delivery.Status.PENDING
    assert f"{task_id} still pending after {delivery.attempt_count} attempt(s)" in out
    assert "0 delivered, 0 failed, 1 still pending" in out
    assert "the workers send its next attempts" in out


def test_timeout_without_wait_is_an_error(tasks):
    _, err, code = run(tasks["failed_recently"].id, "--timeout", "5")

    assert code == 1
    assert "--timeout needs --wait" in err


def test_ctrl_c_during_wait_ends_cleanly_and_leaves_the_delivery_to_the_workers(tasks, receiver, settings):
    # Given a receiver that is down: --wait would go on through the whole retry schedule.
    settings.CALLBACK_RETRY_SCHEDULE = [0.5] * 20
    receiver.answer(Answer(503))
    task_id = tasks["failed_recently"].id

    def press_ctrl_c_after_the_first_attempt():
        receiver.wait_for(1, timeout=30)
        os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C sends to the command's process

    threading.Thread(target=press_ctrl_c_after_the_first_attempt, daemon=True).start()
    try:
        out, err, code = run(task_id, "--wait")
    except KeyboardInterrupt:
        pytest.fail("Ctrl-C escaped the command as a KeyboardInterrupt (a traceback for the operator)")

    assert code == 130  # the shell's status for a command ended by SIGINT
    assert "Interrupted" in err
    assert "0 delivered, 0 failed, 1 still pending" in out
    assert Delivery.objects.get(task_id=task_id).status == Delivery.Status.PENDING


def test_a_task_that_cannot_be_queued_gives_exit_status_1_and_the_others_are_queued(tasks, account, receiver):
    pending = TaskFactory(owner=account.user, callback_url=receiver.url)
    unknown = "f" * 24

    out, err, code = run(tasks["succeeded"].id, pending.id, unknown)

    assert code == 1
    assert f"not queued {pending.id}: Cannot resend" in err
    assert f"not queued {unknown}: no such task" in err
    assert "Queued 1 of 3 task(s); 2 could not be queued." in out
    assert Delivery.objects.get().task_id == tasks["succeeded"].id


def test_account_and_status_narrow_the_selection(tasks, receiver):
    other = account_create(email="someone@example.com").profile
    theirs = finished_task(other.user, receiver.url, callback_succeeded=False, status="error")

    out, _, _ = run("--account", "someone@example.com", "--dry-run")
    assert theirs.id in out and tasks["failed_recently"].id not in out

    out, _, _ = run("--status", "completed", "--failed", "--dry-run")
    assert theirs.id not in out and tasks["failed_recently"].id in out


def test_unknown_account_is_an_error(tasks):
    with pytest.raises(CommandError, match="No account"):
        call_command("resend_callback", "--account", "nobody@example.com", stdout=io.StringIO())


def test_nothing_selected_is_an_error(tasks):
    with pytest.raises(CommandError, match="Nothing selected"):
        call_command("resend_callback", stdout=io.StringIO())


def test_no_progress_bar_when_stdout_is_not_a_terminal(tasks):
    out, err, _ = run("--failed", "--dry-run")

    assert "%|" not in out + err


def test_progress_bar_on_a_terminal(tasks):
    primary, secondary = os.openpty()
    chunks = []
    reader = threading.Thread(target=lambda: _read_all(primary, chunks), daemon=True)
    reader.start()
    with os.fdopen(secondary, "w") as terminal:
        call_command("resend_callback", "--failed", "--dry-run", stdout=terminal, stderr=io.StringIO())
    reader.join(timeout=5)
    output = b"".join(chunks).decode(errors="replace")

    assert "Checking: 100%" in output
    assert "2/2" in output
    assert "Would resend 2 of 2 task(s)" in output


def _read_all(fd, chunks):
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:  # the terminal's other end closed
            return
        if not data:
            return
        chunks.append(data)
