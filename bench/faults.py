"""The fault harness (issue 28): ScaleHooks as several hosts, a schedule of faults, the invariants.

Run as root (it makes network namespaces):

    .venv/bin/python bench/faults.py --profile ci       # both stacks, every fault once, < 3 minutes
    .venv/bin/python bench/faults.py --profile full     # each fault alone, then combined, both stacks
    .venv/bin/python bench/faults.py --profile soak     # one hour, 100 completions/s, 2 clusters
    .venv/bin/python bench/faults.py --cleanup          # remove what a crashed run left (prefix shf-)

It starts its own PostgreSQL (/usr/local/bin/postgres) and Redis (/usr/bin/redis-server) in a
temporary directory, never the machine's shared ones, and runs the service as hosts, each a
network namespace (``ip netns``) joined to a bridge by a veth pair, addresses 10.77.0.0/24:

    root namespace 10.77.0.1   this driver (in-process completions, the checks) and the forwarder
    shf-db         10.77.0.10  PostgreSQL :5432, Redis :6379
    shf-web        10.77.0.20  gunicorn (deploy/gunicorn.conf.py) :8000
    shf-c1..c3     10.77.0.3N  `manage.py qcluster`
    shf-rx         10.77.0.40  bench/receiver.py: :9100.. one origin per port, :9099 the operators' webhooks

Every host reaches PostgreSQL and Redis through the forwarder (``proxy`` below, in the root
namespace, one port per host and service: 10.77.0.1:15000+N and :16000+N), which passes, holds
(a silent partition: bytes stop, connections stay open), delays or drops bytes on command. The
kernel here has no netem qdisc and no tc actions, so latency and loss are made there; "loss" of a
TCP stream is what the application sees of it, a chunk held back for a retransmission timeout
(200–600 ms) with the given probability. A cluster host is cut from the receivers by pointing
its neighbour entry of 10.77.0.40 at a MAC nobody has (silent: its packets go nowhere); the
receiver host is made unreachable by setting its veth down.

The invariants are checked from the receiver's log (one JSON line per request with its
``webhook-id``, arrival and end) and the ledger, and printed as a report (``--report FILE``
also writes it as JSON, with every duplicate and the soak's samples). The parts live in
``bench/faultlib/`` (net, forwarder, hosts, load, plans, checks); docs/reliability.md has what
they found.
"""

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faultlib.checks import check, print_report, report_markdown
from faultlib.forwarder import proxy_main
from faultlib.hosts import Stack, sample, wait_for
from faultlib.load import Load
from faultlib.net import BASE_DIR, LEASE, N, cleanup, instance_set, log, network_up, sh
from faultlib.plans import FaultLog, Faults, faults_run, schedule

# --- A run ---------------------------------------------------------------------------------

PROFILES = {
    # seconds of load, completions/s, targets, clusters, stacks, drain timeout
    "ci": {"seconds": 38, "rate": 15, "targets": 10, "clusters": 2, "stacks": ["redis", "orm"], "drain": 60},
    "full": {
        "seconds": 0,
        "rate": 30,
        "targets": 20,
        "clusters": 3,
        "stacks": ["redis", "orm"],
        "drain": 120,
    },
    "soak": {
        "seconds": 3600,
        "rate": 100,
        "targets": 50,
        "clusters": 2,
        "stacks": ["redis"],
        "drain": 180,
        "drivers": 3,
    },
}


def django_setup(stack: Stack) -> None:
    os.environ.update(stack.env("driver"))
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def run(args) -> int:
    profile = dict(PROFILES[args.profile])
    for key in ("seconds", "rate", "targets", "clusters"):
        if getattr(args, key, None):
            profile[key] = getattr(args, key)
    if args.stacks:
        profile["stacks"] = args.stacks.split(",")
    if os.geteuid() != 0 or sh("ip", "netns", "list", check=False).returncode != 0:
        print(
            "faults: network namespaces cannot be made here (root and `ip netns` are needed)", file=sys.stderr
        )
        return 2
    cleanup(workdirs=False)
    workdir = Path(tempfile.mkdtemp(prefix=f"{N.prefix}-run-"))
    os.chmod(workdir, 0o755)
    mix = {"fail": 0.05, "hang": 0.01, "slow": 0.05}
    stack = Stack(workdir, profile["clusters"], mix)
    reports = []
    try:
        try:
            network_up(["db", "web", "rx", *stack.cluster_hosts])
        except subprocess.CalledProcessError as error:
            print(f"faults: network namespaces cannot be made here: {error.stderr.strip()}", file=sys.stderr)
            return 2
        log(f"hosts up, work directory {workdir}")
        stack.databases_start()
        stack.proxy_start()
        stack.receiver_start()
        stack.broker = profile["stacks"][0]
        django_setup(stack)
        from django.core.management import call_command
        from django.db import connection

        log("migrating")
        call_command("migrate", verbosity=0)
        connection.close()
        for broker in profile["stacks"][1:]:
            # a fresh database of the migrated schema for each next stack, copied while nobody is connected
            subprocess.run(
                [
                    "psql",
                    f"postgres://postgres@{N.db_ip}:5432/postgres",
                    "-qc",
                    f"CREATE DATABASE scalehooks_{broker} TEMPLATE scalehooks",
                ],
                check=True,
                capture_output=True,
            )
        for index, broker in enumerate(profile["stacks"]):
            stack.broker = broker
            if index:
                stack.database = f"scalehooks_{broker}"
                connection.close()
                connection.settings_dict["NAME"] = stack.database
                os.environ.update(stack.env("driver"))
            reports.append(one_stack(stack, profile, args))
            print_report(reports[-1])
            stack.stop_service()
    finally:
        stack.stop_all()
        cleanup(workdirs=False)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.report:
        Path(args.report).write_text(json.dumps(reports, indent=1, default=str))
    if args.markdown:
        Path(args.markdown).write_text(report_markdown(reports, " ".join(["bench/faults.py", *sys.argv[1:]])))
    ok = all(all(r["held"].values()) for r in reports)
    print("\nfaults: every invariant held" if ok else "\nfaults: an invariant was BROKEN (see above)")
    return 0 if ok else 1


def one_stack(stack: Stack, profile: dict, args) -> dict:
    label = f"{args.profile} on PostgreSQL + {'Redis' if stack.broker == 'redis' else 'the ORM broker'}"
    log(f"--- {label}")
    load = Load(stack, rate=profile["rate"], targets=profile["targets"])
    load.prepare(n_accounts=5)
    stack.web_start()
    for host in stack.cluster_hosts:
        stack.cluster_start(host)
    faultlog = FaultLog()
    faults = Faults(stack, faultlog)
    load.since = time.time()
    # the alerts: one target failing for its first seconds, then healthy again
    faults.outage(True)
    outage_tasks = load.new_tasks(8, outage=True)
    for task_id in outage_tasks:
        load.complete_in_process(task_id)
    load.completed.clear()  # the load's completions only
    faults.restart_every = args.restart_every
    plan = schedule(args.profile, stack, faults)
    seconds = profile["seconds"] or (max(at for at, _ in plan) + LEASE + 25)
    plan = [(at, action) for at, action in plan if at < seconds - 5]  # every fault heals within the load
    started = time.monotonic()
    fault_threads: list[threading.Thread] = []
    scheduler = threading.Thread(target=lambda: fault_threads.extend(faults_run(plan, started)), daemon=True)
    scheduler.start()
    samples = []
    stop_sampling = threading.Event()

    def sampler():
        while not stop_sampling.wait(args.sample_every):
            with contextlib.suppress(Exception):
                samples.append(sample(stack))

    sampling = threading.Thread(target=sampler, daemon=True)
    sampling.start()
    threading.Timer(min(20.0, seconds / 3), faults.outage, args=(False,)).start()
    load.run(seconds, processes=profile.get("drivers", 1))
    scheduler.join()
    for thread in fault_threads:
        thread.join()
    # everything healed: wait until no delivery is pending
    from django.db import connection

    from callbacks_app.models import Delivery

    log("load done, faults healed; waiting for every delivery to finish")
    connection.close()
    wait_for(lambda: not Delivery.objects.filter(status="pending").exists(), profile["drain"], interval=1)
    time.sleep(2)
    stop_sampling.set()
    samples.append(sample(stack))
    report = check(stack, load, faultlog, label=label)
    report["samples"] = samples
    report["profile"] = dict(profile.items())
    report["seconds_of_load"] = seconds
    return report


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", nargs="?", default="run", choices=["run", "proxy"])
    parser.add_argument("routes", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("--profile", default="ci", choices=sorted(PROFILES))
    parser.add_argument("--stacks", default="", help="redis,orm (default: the profile's)")
    parser.add_argument("--seconds", type=float, default=0, help="seconds of load (default: the profile's)")
    parser.add_argument("--rate", type=float, default=0, help="completions a second")
    parser.add_argument("--targets", type=int, default=0, help="receiver origins")
    parser.add_argument("--clusters", type=int, default=0, help="cluster hosts")
    parser.add_argument(
        "--restart-every", type=float, default=600, help="soak: seconds between cluster restarts"
    )
    parser.add_argument("--sample-every", type=float, default=30, help="seconds between process samples")
    parser.add_argument("--report", default="", help="write the reports as JSON to this file")
    parser.add_argument("--markdown", default="", help="write the reports as Markdown to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    parser.add_argument("--cleanup", action="store_true", help="remove what an interrupted run left")
    parser.add_argument(
        "--instance",
        type=int,
        default=0,
        help="a second run beside the first: its own names (shfN-), 10.(77+N).0.0/24",
    )
    args = parser.parse_args()
    instance_set(args.instance)
    if args.cleanup:
        cleanup()
        print(f"faults: removed every namespace, link, process and directory named {N.prefix}-")
        return 0
    if args.command == "proxy":
        asyncio.run(proxy_main(args.routes))
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
