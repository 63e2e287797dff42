"""The fault harness's load: completions at a steady rate, half through the API of the web host,
half in-process, from one or more driver processes, each retried through the faults."""

import contextlib
import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from faultlib.hosts import Stack
from faultlib.net import OPS_PORT, OUTAGE_PORT_OFFSET, RX_FIRST_PORT, N, log

# --- The load ------------------------------------------------------------------------------


@dataclass
class Load:
    """Completions at a steady rate, half through the API, half in-process."""

    stack: Stack
    rate: float
    targets: int
    accounts: list = field(default_factory=list)
    completed: list = field(default_factory=list)
    errors: dict = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def prepare(self, n_accounts: int) -> None:
        from tasks_app.accounts import account_create

        self.ops_key = account_create(email=f"ops-{time.time_ns()}@example.com", staff=True).live_api_key
        for i in range(n_accounts):
            self.accounts.append(account_create(email=f"load{i}-{time.time_ns()}@example.com").profile)
        self.outage_account = account_create(email=f"outage-{time.time_ns()}@example.com").profile

    def new_tasks(self, n: int, *, outage: bool = False) -> list[str]:
        from tasks_app.models import Task

        tasks = []
        for _ in range(n):
            if outage:
                owner, url = self.outage_account, f"http://{N.rx_ip}:{OPS_PORT + OUTAGE_PORT_OFFSET}/outage/x"
            else:
                owner = random.choice(self.accounts)
                port = RX_FIRST_PORT + random.randrange(self.targets)
                url = f"http://{N.rx_ip}:{port}/mix/{owner.user_id}"
            tasks.append(
                Task(
                    owner=owner.user,
                    type="categorization",
                    instruction="Is this object red or blue?",
                    params={
                        "attachment_type": "text",
                        "attachment": "tomato",
                        "categories": ["red", "blue"],
                        "allow_multiple": False,
                    },
                    callback_url=url,
                    metadata={"faults": True, "padding": "x" * 400},
                )
            )
        Task.objects.bulk_create(tasks, batch_size=1000)
        return [t.id for t in tasks]

    def complete_in_process(self, task_id: str) -> None:
        from django.db import close_old_connections, connection

        from tasks_app.services import task_complete

        deadline = time.monotonic() + 120
        while True:
            try:
                task_complete(task_id=task_id, response={"category": "red"})
                break
            except Exception as error:  # the database restarted or partitioned: try again
                if self.task_completed(task_id):
                    break
                with self.lock:
                    self.errors[f"in-process {type(error).__name__}"] += 1
                with contextlib.suppress(Exception):
                    connection.close()
                close_old_connections()
                if time.monotonic() > deadline:
                    return
                time.sleep(0.5)
        with self.lock:
            self.completed.append(task_id)

    def complete_by_api(self, task_id: str) -> None:
        import base64

        auth = base64.b64encode(f"{self.ops_key}:".encode()).decode()
        request = urllib.request.Request(
            f"http://{N.web_ip}:8000/v1/ops/task/{task_id}/complete",
            data=json.dumps({"response": {"category": "red"}}).encode(),
            headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"},
            method="POST",
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(request, timeout=20).close()
                break
            except urllib.error.HTTPError as error:
                if error.code == 400 and self.task_completed(task_id):
                    break  # an earlier try completed it, its answer lost (the web host killed)
                with self.lock:
                    self.errors[f"api {error.code}"] += 1
            except (OSError, urllib.error.URLError) as error:
                with self.lock:
                    self.errors[f"api {type(error).__name__}"] += 1
                if self.task_completed(task_id):
                    break
            if time.monotonic() > deadline:
                return
            time.sleep(0.5)
        with self.lock:
            self.completed.append(task_id)

    def task_completed(self, task_id: str) -> bool:
        from django.db import connection

        from tasks_app.models import Task

        try:
            return Task.objects.filter(id=task_id, status="completed").exists()
        except Exception:
            with contextlib.suppress(Exception):
                connection.close()
            return False

    def run(self, seconds: float, processes: int = 1) -> None:
        """Complete ``rate`` tasks a second for ``seconds``, alternating API and in-process, from
        ``processes`` forked driver processes (one Python process tops out below 100 a second)."""
        import multiprocessing

        from django.db import connection

        started = time.time()
        if processes <= 1:
            self._run_here(seconds, self.rate, None)
        else:
            connection.close()  # a forked child must not share the parent's connection
            context = multiprocessing.get_context("fork")
            results = context.Queue()
            children = [
                context.Process(target=self._run_here, args=(seconds, self.rate / processes, results))
                for _ in range(processes)
            ]
            for child in children:
                child.start()
            for _ in children:
                completed, errors = results.get()
                self.completed += completed
                for key, n in errors.items():
                    self.errors[key] += n
            for child in children:
                child.join()
        self.load_seconds = time.time() - started
        log(f"load: {len(self.completed)} completions in {self.load_seconds:.0f} s")

    def _run_here(self, seconds: float, rate: float, results) -> None:
        from django.db import connection

        random.seed()
        if results is not None:
            self.completed = []  # a forked child counts its own
        pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="load")
        room = threading.BoundedSemaphore(64)  # behind schedule, the rate falls; the backlog does not grow
        started = time.monotonic()
        i = 0
        pending: list[str] = []
        while time.monotonic() - started < seconds:
            if not pending:
                try:
                    pending = self.new_tasks(max(10, int(rate * 2)))
                except Exception:
                    with contextlib.suppress(Exception):
                        connection.close()
                    time.sleep(0.5)
                    continue
            due = started + i / rate
            if (wait := due - time.monotonic()) > 0:
                time.sleep(wait)
            task_id = pending.pop()
            method = self.complete_by_api if i % 2 else self.complete_in_process
            room.acquire()
            pool.submit(method, task_id).add_done_callback(lambda _: room.release())
            i += 1
        pool.shutdown(wait=True)
        if results is not None:
            results.put((self.completed, dict(self.errors)))
