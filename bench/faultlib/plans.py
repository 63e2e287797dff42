"""The faults: each injected, held and healed, logged with its window; the schedule of each profile."""

import signal
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

from faultlib.forwarder import proxy_set
from faultlib.hosts import Stack
from faultlib.net import LEASE, OPS_PORT, N, cut_from_receivers, link, log

# --- Faults --------------------------------------------------------------------------------


@dataclass
class FaultLog:
    entries: list = field(default_factory=list)

    def add(self, name: str, start: float, end: float, hosts: list[str]) -> None:
        self.entries.append({"name": name, "start": start, "end": end, "hosts": hosts})
        log(f"fault: {name} ({end - start:.1f} s)")


class Faults:
    """Each fault: inject, hold for a while, heal; logged with its window."""

    def __init__(self, stack: Stack, faultlog: FaultLog):
        self.stack, self.log = stack, faultlog

    def _window(self, name: str, hosts: list[str], inject, heal, seconds: float) -> None:
        start = time.time()
        inject()
        time.sleep(seconds)
        heal()
        self.log.add(name, start, time.time(), hosts)

    def kill_cluster(self, host: str, down: float = 3) -> None:
        proc = self.stack.procs[host]
        self._window(f"SIGKILL {host}", [host], proc.kill, lambda: proc.start(), down)

    def stop_cluster(self, host: str) -> None:
        proc = self.stack.procs[host]
        self._window(f"restart {host} (SIGTERM)", [host], proc.stop, lambda: proc.start(), 1)

    def partition(self, host: str, what: str, seconds: float) -> None:
        if what == "receivers":
            inject, heal = (lambda: cut_from_receivers(host, True)), (lambda: cut_from_receivers(host, False))
        else:
            route = f"{host}-{what}"
            inject, heal = (lambda: proxy_set([route], "hold")), (lambda: proxy_set([route], "pass"))
        self._window(f"{host} partitioned from {what} {seconds:.0f} s", [host], inject, heal, seconds)

    def degrade(self, host: str, what: str, seconds: float, *, delay_ms: int = 0, loss: float = 0.0) -> None:
        route = f"{host}-{what}"
        self._window(
            f"{host}↔{what}: {delay_ms} ms latency, {loss:.0%} loss",
            [host],
            lambda: proxy_set([route], "pass", delay_ms=delay_ms, loss=loss),
            lambda: proxy_set([route], "pass"),
            seconds,
        )

    def postgres_restart(self, mode: str) -> None:
        proc = self.stack.procs["postgres"]
        signum = signal.SIGINT if mode == "fast" else signal.SIGQUIT

        def inject():
            proc.signal(signum, group=False)
            proc.process.wait(60)

        self._window(f"PostgreSQL restart ({mode})", ["db"], inject, lambda: proc.start(), 0.5)

    def redis_restart_empty(self) -> None:
        proc = self.stack.procs["redis"]
        self._window("Redis killed, restarted empty", ["db"], proc.kill, lambda: proc.start(), 1)

    def receiver_unreachable(self, seconds: float) -> None:
        self._window(
            f"receiver host unreachable {seconds:.0f} s",
            ["rx"],
            lambda: link("rx", False),
            lambda: link("rx", True),
            seconds,
        )

    def kill_web(self) -> None:
        proc = self.stack.procs["web"]
        self._window("web host SIGKILLed mid-request", ["web"], proc.kill, self.stack.web_start, 1)

    def outage(self, on: bool) -> None:
        request = urllib.request.Request(f"http://{N.rx_ip}:{OPS_PORT}/outage?on={int(on)}", method="POST")
        urllib.request.urlopen(request, timeout=5).close()


def schedule(profile: str, stack: Stack, faults: Faults) -> list[tuple[float, str, object]]:
    """(seconds after the load starts, label, action) of a profile's faults, for one stack."""
    c = stack.cluster_hosts
    redis = stack.broker == "redis"
    long = LEASE + 5
    if profile == "ci":
        plan = [
            (2, lambda: faults.kill_cluster(c[0])),
            (6, lambda: faults.partition(c[1], "db", 4)),
            (11, lambda: faults.partition(c[0], "receivers", 4)),
            (16, lambda: faults.postgres_restart("immediate")),
            (20, lambda: faults.kill_web()),
            (23, lambda: faults.degrade(c[1], "db", 4, delay_ms=200, loss=0.05)),
            (28, lambda: faults.receiver_unreachable(3)),
        ]
        if redis:
            plan.append((32, lambda: faults.redis_restart_empty()))
        return plan
    if profile == "full":
        t = 5
        plan = []

        def at(seconds, action):
            nonlocal t
            plan.append((t, action))
            t += seconds

        # Each alone
        at(12, lambda: faults.kill_cluster(c[0]))
        at(12, lambda: faults.stop_cluster(c[1]))
        at(12, lambda: faults.partition(c[0], "db", 5))
        at(long + 8, lambda: faults.partition(c[1], "db", long))
        if redis:
            at(12, lambda: faults.partition(c[0], "redis", 5))
            at(long + 8, lambda: faults.partition(c[1], "redis", long))
        at(12, lambda: faults.partition(c[0], "receivers", 5))
        at(long + 8, lambda: faults.partition(c[1], "receivers", long))
        at(18, lambda: faults.degrade(c[0], "db", 12, delay_ms=200))
        at(18, lambda: faults.degrade(c[1], "db", 12, loss=0.05))
        if redis:
            at(18, lambda: faults.degrade(c[0], "redis", 12, delay_ms=200, loss=0.05))
        at(12, lambda: faults.postgres_restart("fast"))
        at(12, lambda: faults.postgres_restart("immediate"))
        if redis:
            at(12, lambda: faults.redis_restart_empty())
        at(15, lambda: faults.receiver_unreachable(8))
        at(10, lambda: faults.kill_web())
        # Combined: several at once, each in its own thread
        combo = [
            lambda: faults.kill_cluster(c[0], down=5),
            lambda: faults.partition(c[1], "db", long),
            lambda: faults.partition(c[2] if len(c) > 2 else c[1], "receivers", 8),
            lambda: faults.postgres_restart("immediate"),
            lambda: faults.kill_web(),
        ]
        if redis:
            combo.append(lambda: faults.redis_restart_empty())
        for i, action in enumerate(combo):
            plan.append((t + i * 2, action))
        t += long + 15
        combo2 = [
            lambda: faults.kill_cluster(c[1]),
            lambda: faults.receiver_unreachable(6),
            lambda: faults.degrade(c[0], "db", 10, delay_ms=200, loss=0.05),
        ]
        for i, action in enumerate(combo2):
            plan.append((t + i, action))
        return plan
    if profile == "soak":
        # one cluster restarted every ten minutes, alternately SIGKILL and SIGTERM
        every = faults.restart_every
        return [
            (every * k, (lambda k=k: faults.kill_cluster(c[1]) if k % 2 else faults.stop_cluster(c[1])))
            for k in range(1, 1000)
        ]
    raise SystemExit(f"unknown profile {profile}")


def faults_run(plan, started: float) -> list[threading.Thread]:
    threads = []
    for at, action in sorted(plan, key=lambda p: p[0]):
        if (wait := started + at - time.monotonic()) > 0:
            time.sleep(wait)
        thread = threading.Thread(target=action, daemon=True)
        thread.start()
        threads.append(thread)
    return threads
