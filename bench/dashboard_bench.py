"""Benchmark: the admin's callback dashboard with a million delivery attempts.

Creates a fresh database (DATABASE_URL; default a SQLite file next to this
script; a PostgreSQL database must have "bench" in its name, it is dropped
and created again: give it a name of its own, e.g. scalehooks_bench_dashboard,
so that it never drops the database another benchmark is using), fills it with deliveries and 1,000,000 attempts by
``INSERT ... SELECT`` over a recursive sequence, then renders
``/admin/dashboard/`` through Django's test client, logged in as staff, for
each window, several times. For comparison, in the same run, it renders the
7-day window again without the dashboard's indexes (dropped, then restored).

    .venv/bin/python bench/dashboard_bench.py                       # SQLite
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scalehooks_bench_dashboard .venv/bin/python bench/dashboard_bench.py

Options: --attempts N (1,000,000), --spread-days D (30: the retention; 7
puts every row in the 7-day window), --runs R (5).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DATABASE_URL", f"sqlite:///{BASE_DIR / 'bench' / 'dashboard_bench.sqlite3'}")
os.environ["DJANGO_SETTINGS_MODULE"] = "scalehooks.settings"
os.environ.setdefault("SECRET_KEY", "bench-only-" + "not-secret-" * 5)  # DEBUG is off
# The pages name their static files through collectstatic's manifest (run below).
os.environ.setdefault("STATIC_ROOT", tempfile.mkdtemp(prefix="scalehooks-bench-static-"))
os.environ.setdefault("LOG_LEVEL", "WARNING")

ACCOUNTS = 10  # deliveries are spread over this many accounts, five target origins each

DASHBOARD_INDEXES = {  # name: (table, columns, condition)
    "delivery_created_status_idx": ("callbacks_app_delivery", "created_at, status", ""),
    "delivery_succeeded_idx": ("callbacks_app_delivery", "finished_at", "status = 'succeeded'"),
    "delivery_failed_idx": ("callbacks_app_delivery", "finished_at", "status = 'failed'"),
    "attempt_latency_idx": ("callbacks_app_deliveryattempt", "started_at, duration_ms, succeeded", ""),
}


def fresh_database() -> str:
    """Drop and create the bench database; returns its vendor."""
    import environ

    config = environ.Env.db_url_config(os.environ["DATABASE_URL"])
    if config["ENGINE"].endswith("sqlite3"):
        for suffix in ("", "-wal", "-shm"):
            Path(config["NAME"] + suffix).unlink(missing_ok=True)
        return "sqlite"
    if "bench" not in config["NAME"]:
        sys.exit(f"refusing to drop {config['NAME']!r}: the bench database's name must contain 'bench'")
    import psycopg

    with psycopg.connect(
        host=config.get("HOST") or "127.0.0.1",
        port=config.get("PORT") or 5432,
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{config["NAME"]}"')
        conn.execute(f'CREATE DATABASE "{config["NAME"]}"')
    return "postgresql"


def ago(vendor: str, now: str, seconds_sql: str) -> str:
    """SQL for the timestamp ``seconds_sql`` seconds before ``now`` (as Django stores it)."""
    if vendor == "sqlite":
        return f"strftime('%Y-%m-%d %H:%M:%f', '{now}', (-({seconds_sql})) || ' seconds')"
    return f"(TIMESTAMPTZ '{now}+00' - ({seconds_sql}) * INTERVAL '1 second')"


def fill(vendor: str, *, attempts: int, spread_days: float) -> tuple[int, float]:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from callbacks_app.models import TargetHealth
    from tasks_app.models import Task

    started = time.perf_counter()
    deliveries = attempts * 2 // 5  # 2.5 attempts per delivery on average
    third = attempts - 2 * deliveries  # deliveries 1..third have a third attempt
    spread = int(spread_days * 86400)
    now = timezone.now().replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    owner = get_user_model().objects.create_user("bench@example.com")
    accounts = [get_user_model().objects.create_user(f"bench-{k}@example.com") for k in range(ACCOUNTS)]
    first_account = accounts[0].id
    assert [a.id for a in accounts] == list(range(first_account, first_account + ACCOUNTS))
    Task.objects.bulk_create(
        Task(id=f"{i:024x}", owner=owner, type="categorization", status="completed", params={})
        for i in range(1000)
    )
    created = ago(vendor, now, f"n * {spread} / {deliveries}")
    status = (
        "CASE WHEN n % 1000 = 0 THEN 'pending' WHEN n % 97 = 0 THEN 'superseded' "
        "WHEN n % 50 < 4 AND n % 7 < (n % 50) * 2 THEN 'failed' "
        "WHEN n % 113 = 0 THEN 'failed' ELSE 'succeeded' END"
    )
    finished = ago(vendor, now, f"n * {spread} / {deliveries} - 30")
    empty_json = "'{}'" if vendor == "sqlite" else "CAST('{}' AS jsonb)"
    false = "0" if vendor == "sqlite" else "FALSE"
    lpad = "printf('%024x', n % 1000)" if vendor == "sqlite" else "lpad(to_hex(n % 1000), 24, '0')"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"""
            WITH RECURSIVE seq(n) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT n + 1 FROM seq WHERE n < {deliveries})
            INSERT INTO callbacks_app_delivery
                (id, task_id, owner_id, is_test, event, target, target_origin, target_kind, payload,
                 status, attempt_count, next_attempt_at, first_attempt_at, created_at, finished_at)
            SELECT 'msg_' || n, {lpad}, {first_account} + n % {ACCOUNTS}, {false}, 'task.completed',
                   'https://hooks' || (n % 50) || '.example.com/callback',
                   'https://hooks' || (n % 50) || '.example.com:443', 'http', '{{}}',
                   {status}, CASE WHEN n <= {third} THEN 3 ELSE 2 END,
                   CASE WHEN n % 1000 = 0 THEN {ago(vendor, now, "60 - n % 120")} END,
                   {created}, {created},
                   CASE WHEN n % 1000 = 0 THEN NULL ELSE {finished} END
            FROM seq
        """)
        duration = "CASE WHEN m % 100 = 0 THEN 1000 + (m * 13) % 14000 ELSE 5 + (m * 37) % 400 END"
        cursor.execute(f"""
            WITH RECURSIVE seq(m) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT m + 1 FROM seq WHERE m < {attempts - 1})
            INSERT INTO callbacks_app_deliveryattempt
                (delivery_id, number, started_at, duration_ms, status_code, error,
                 response_excerpt, request_headers, succeeded, private_target)
            SELECT 'msg_' || (m % {deliveries} + 1), m / {deliveries} + 1,
                   {ago(vendor, now, f"(m % {deliveries} + 1) * {spread} / {deliveries} - 10 * (m / {deliveries})")},
                   {duration}, CASE WHEN m % 3 = 0 THEN 500 ELSE 200 END, '', '', {empty_json},
                   m % 3 <> 0, {false}
            FROM seq
        """)
    TargetHealth.objects.bulk_create(
        TargetHealth(
            owner_id=first_account + n % ACCOUNTS, mode="live", origin=f"https://hooks{n}.example.com:443"
        )
        for n in range(50)
    )
    settle(vendor)
    return deliveries, time.perf_counter() - started


def settle(vendor: str) -> None:
    """Bring the database to the state it has in service.

    PostgreSQL: autovacuum vacuums and analyzes a table after this many
    inserts; without the vacuum its index-only scans still read every heap
    page. SQLite: Django never runs ANALYZE, so neither does the benchmark; the
    query plans must be right without statistics.
    """
    from django.db import connection

    if vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def render_times(client, window: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get("/admin/dashboard/", {"window": window})
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    return times


def target_figures_times(runs: int) -> list[float]:
    """The 1 h and 24 h figures of the first account's five targets, p50/p95 from the ledger."""
    from django.utils import timezone

    from callbacks_app.health_selectors import target_figures
    from callbacks_app.models import TargetHealth

    first = TargetHealth.objects.order_by("owner_id").values_list("owner_id", flat=True).first()
    targets = list(TargetHealth.objects.filter(owner_id=first, mode="live"))
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        figures = target_figures(targets=targets, now=timezone.now())
        times.append(time.perf_counter() - started)
    assert len(figures) == len(targets) == 5, figures
    return times


def drop_dashboard_indexes(vendor):
    from django.db import connection

    with connection.cursor() as cursor:
        for name in DASHBOARD_INDEXES:
            cursor.execute(f"DROP INDEX {name}")
    settle(vendor)


def restore_dashboard_indexes(vendor):
    from django.db import connection

    with connection.cursor() as cursor:
        for name, (table, columns, condition) in DASHBOARD_INDEXES.items():
            where = f" WHERE {condition}" if condition else ""
            cursor.execute(f"CREATE INDEX {name} ON {table} ({columns}){where}")
    settle(vendor)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--spread-days", type=float, default=30)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    vendor = fresh_database()
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from callbacks_app.models import Delivery, DeliveryAttempt

    setup_test_environment()  # lets the test client's "testserver" host in
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    _, fill_s = fill(vendor, attempts=args.attempts, spread_days=args.spread_days)
    print(
        f"{connection.vendor} {connection.Database.sqlite_version if vendor == 'sqlite' else connection.pg_version}: "
        f"{DeliveryAttempt.objects.count():,} attempts, {Delivery.objects.count():,} deliveries "
        f"over {args.spread_days:g} days, filled in {fill_s:.1f} s"
    )

    client = Client()
    client.force_login(get_user_model().objects.create_superuser("bench-ops@example.com", password="x"))
    render_times(client, "24h", 1)  # warm up: connection, templates, caches

    print(f"dashboard render, {args.runs} runs each (seconds): window  min  median  max")
    for window in ("1h", "24h", "7d"):
        times = render_times(client, window, args.runs)
        print(f"  {window:>4}  {min(times):.3f}  {statistics.median(times):.3f}  {max(times):.3f}")

    print(
        f"an account's targets' figures (/v1/callback_targets, the portal's targets page), {args.runs} runs:"
    )
    times = target_figures_times(args.runs)
    print(f"  median {statistics.median(times):.3f} s (min {min(times):.3f}, max {max(times):.3f})")

    drop_dashboard_indexes(vendor)
    try:
        times = render_times(client, "7d", max(2, args.runs // 2))
        print(f"  without the dashboard indexes, 7d: median {statistics.median(times):.3f} s")
    finally:
        restore_dashboard_indexes(vendor)


if __name__ == "__main__":
    main()
