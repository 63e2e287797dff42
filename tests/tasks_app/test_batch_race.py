"""Exactly one ``batch.completed`` callback when the last two tasks of a batch complete at once
in two processes (SPEC §12). Meaningful on PostgreSQL (READ COMMITTED, row locks); SQLite
serialises the two writers anyway, and the test passes there too."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from callbacks_app.models import Delivery
from tasks_app import batches
from tasks_app.keys import Mode
from tasks_app.models import Batch, Task
from tasks_app.services import task_complete
from tests import cluster

pytestmark = pytest.mark.django_db(transaction=True)

# Completes one task; with --hold it keeps its transaction open (its task row and the batch
# row locked) until the other process is waiting on them.
CHILD = """
import sys, time
from pathlib import Path
import django
django.setup()
from django.db import transaction
from tasks_app.services import task_complete

task_id, role, folder = sys.argv[1], sys.argv[2], Path(sys.argv[3])
def wait_for(name):
    deadline = time.monotonic() + 30
    while not (folder / name).exists():
        if time.monotonic() > deadline:
            sys.exit(f"{role}: {name} never appeared")
        time.sleep(0.01)
if role == "first":
    with transaction.atomic():
        task_complete(task_id=task_id, response={"category": "red"})
        (folder / "first-completed").touch()
        wait_for("second-started")
        time.sleep(1.0)  # the second process now waits on the batch row (or the write lock)
else:
    wait_for("first-completed")
    (folder / "second-started").touch()
    task_complete(task_id=task_id, response={"category": "blue"})
print(role, "done")
"""


def complete_in_two_processes(task_ids: list[str], folder: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": cluster.test_database_url(),
    }
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, task_id, role, str(folder)],
            cwd=cluster.BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for task_id, role in zip(task_ids, ("first", "second"), strict=True)
    ]
    for child in children:
        output, _ = child.communicate(timeout=60)
        assert child.returncode == 0, output.decode()


@pytest.mark.service
def test_two_processes_completing_the_last_two_tasks_at_once_send_exactly_one(account, receiver, tmp_path):
    project = batches.project_create(
        owner=account.user, mode=Mode.LIVE, name="fruit", task_type="categorization", params={}
    )
    batch = batches.batch_create(
        owner=account.user, mode=Mode.LIVE, project_name=project.name, name="b1", callback=receiver.url
    )
    params = {"attachment_type": "text", "attachment": "tomato", "categories": ["red", "blue"]}
    ids = [
        Task.objects.create(
            owner=account.user, type="categorization", params=params, project="fruit", batch="b1"
        ).id
        for _ in range(3)
    ]
    batches.batch_finalize(batch_id=batch.id)
    task_complete(task_id=ids[0], response={"category": "red"})
    started = time.monotonic()

    complete_in_two_processes(ids[1:], tmp_path)

    assert time.monotonic() - started >= 1.0  # they did overlap: the second waited for the first
    assert Batch.objects.get(id=batch.id).status == Batch.Status.COMPLETED
    (delivery,) = Delivery.objects.filter(event=Delivery.Event.BATCH_COMPLETED)
    assert delivery.batch_id == batch.id
    assert '"counts":{"pending":0,"completed":3,"error":0,"canceled":0}' in delivery.payload
