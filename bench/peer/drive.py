"""The peer's side of bench/peer.py, run with the peer venv's Python (its own Django and Celery).

    drive.py setup --n N --url URL   migrate a fresh database, subscribe URL to task updates
                                     (signed with one secret), create N pending tasks, empty the broker
    drive.py run --drivers D         fork D driver processes, print "ready", wait for a line on
                                     stdin, then complete every task from the drivers and print
                                     {"seconds": ..., "drivers_cpu": ...} as JSON

A completion is what an application using django-webhook does: read the row,
change it, ``save()``; django-webhook's ``post_save`` receiver then queues one
``fire_webhook`` Celery task per subscribed webhook.
"""

import argparse
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerproject.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from peerapp.models import Task  # noqa: E402

UPDATE_TOPIC = "peerapp.Task/update"


def setup(n: int, url: str) -> None:
    """A migrated database with one webhook on task updates and ``n`` pending tasks; an empty broker db."""
    from django.core.management import call_command
    from django_webhook.models import Webhook, WebhookSecret, WebhookTopic, populate_topics_from_settings
    from peerproject.celery import app

    call_command("migrate", verbosity=0)
    populate_topics_from_settings()  # what django-webhook does at every start, once its tables exist
    webhook = Webhook.objects.create(url=url)
    webhook.topics.set([WebhookTopic.objects.get(name=UPDATE_TOPIC)])
    WebhookSecret.objects.create(webhook=webhook, token="bench-peer-signing-secret-0123456789")
    Task.objects.bulk_create(  # bulk_create sends no post_save: no webhooks yet
        [
            Task(
                instruction="Is this object red or blue?",
                params={
                    "attachment_type": "text",
                    "attachment": "tomato",
                    "categories": ["red", "blue"],
                    "allow_multiple": False,
                },
                metadata={"bench": True, "padding": "x" * 564},
                callback_url=url,
            )
            for _ in range(n)
        ],
        batch_size=1000,
    )
    with app.connection_for_write() as broker:
        broker.default_channel.client.flushdb()  # nothing left from an interrupted run


def _drive(task_ids: list[int], go, cpu_used, index: int) -> None:
    """One driver process: complete these tasks one after the other once ``go`` is set;
    its CPU seconds go to ``cpu_used[index]``."""
    connection.close()  # never share the parent's connection
    go.wait()
    cpu = time.process_time()
    for task_id in task_ids:
        task = Task.objects.get(id=task_id)
        task.status = "completed"
        task.response = {"category": "red"}
        task.completed_at = timezone.now()
        task.save()
    connection.close()
    cpu_used[index] = time.process_time() - cpu


def run(drivers: int) -> None:
    task_ids = list(Task.objects.filter(status="pending").order_by("id").values_list("id", flat=True))
    connection.close()
    context = multiprocessing.get_context("fork")
    go = context.Event()
    cpu_used = context.Array("d", drivers)
    processes = [
        context.Process(target=_drive, args=(task_ids[i::drivers], go, cpu_used, i)) for i in range(drivers)
    ]
    for process in processes:
        process.start()
    time.sleep(1)  # let every driver get ready
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    go.set()
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise SystemExit("a driver failed")
    print(json.dumps({"seconds": time.perf_counter() - started, "drivers_cpu": sum(cpu_used)}), flush=True)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    setup_parser = commands.add_parser("setup")
    setup_parser.add_argument("--n", type=int, required=True)
    setup_parser.add_argument("--url", required=True)
    run_parser = commands.add_parser("run")
    run_parser.add_argument("--drivers", type=int, required=True)
    args = parser.parse_args()
    if args.command == "setup":
        setup(args.n, args.url)
    else:
        run(args.drivers)


if __name__ == "__main__":
    main()
