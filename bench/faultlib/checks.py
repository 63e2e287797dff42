"""The invariants, checked from the receiver's log and the ledger, and the report."""

import contextlib
import itertools
import json
from collections import defaultdict
from pathlib import Path

from faultlib.hosts import Stack
from faultlib.load import Load
from faultlib.net import CAP, HOST_IPS, LEASE
from faultlib.plans import FaultLog

# --- The checks ----------------------------------------------------------------------------


def read_receipts(path: Path) -> list[dict]:
    lines = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError):
            lines.append(json.loads(line))
    return lines


DUPLICATE_KINDS = {
    "in flight at a kill": "sent, and answered, as its sender was killed (unavoidable)",
    "answered before a kill": "answered more than 0.5 s before its sender was killed, never recorded",
    "recording lost with the database": "answered; the recording failed with its database connection",
    "late after the sender gave up": "held in TCP behind a partition, delivered when it healed, "
    "after its sender had recorded a timeout",
    "answered during a graceful stop": "answered while its cluster was stopping (SIGTERM); the stop ended "
    "(SIGKILL after 20 s) before the answer was recorded",
    "answer lost": "answered; the answer did not reach the sender in time (recorded as a timeout)",
    "recorded after its lease ran out": "answered while its sender was cut from the database longer than "
    "a lease; another host sent it again; both recorded as succeeded",
    "bug": "a second attempt recorded as succeeded, or no attempt row",
    "unexplained": "no fault of its sender (or of the database or receiver host) near it",
}


def _sender(receipt: dict) -> str:
    last = (receipt.get("peer") or "").rsplit(".", 1)[-1]
    return next((host for host, n in HOST_IPS.items() if str(n) == last), "?")


def _database_cut(host: str, receipt: dict, faults: list[dict]) -> list[dict]:
    """The faults that cut ``host`` from PostgreSQL when ``receipt`` was answered."""
    return [
        f
        for f in faults
        if (
            f["name"].startswith("PostgreSQL")
            or (host in f["hosts"] and ("from db" in f["name"] or "↔db" in f["name"]))
        )
        and f["start"] - 1 <= receipt["end"] <= f["end"]
    ]


def duplicate_explain(wid: str, ok: list[dict], faults: list[dict]) -> list[dict]:
    """Each 2xx receipt of ``wid`` beyond the one its ledger records as succeeded, with why it
    happened: its own attempt's record and the faults of its sender around it."""
    from callbacks_app.models import DeliveryAttempt

    attempts = {
        a["number"]: a
        for a in DeliveryAttempt.objects.filter(delivery_id=wid).values(
            "number", "succeeded", "error", "started_at", "duration_ms"
        )
    }
    succeeded = [r for r in ok if attempts.get(int(r["attempt"] or 0), {}).get("succeeded")]
    # Two attempts recorded as succeeded: the one whose sender's database was cut when it was
    # answered was recorded after its lease ran out (another host had sent it again meanwhile).
    late = [r for r in succeeded if _database_cut(_sender(r), r, faults)]
    recorded = next((r for r in succeeded if r not in late), succeeded[0] if succeeded else None)
    found = []
    for r in ok:
        if r is recorded:
            continue
        host = _sender(r)
        attempt = attempts.get(int(r["attempt"] or 0))
        near = [
            f
            for f in faults
            if (host in f["hosts"] or "db" in f["hosts"] or "rx" in f["hosts"] or host == "?")
            # a fault that hit while the answer could still be recorded (within a lease of it), or
            # whose window it was answered in
            and f["start"] - LEASE <= r["end"] <= f["end"] + LEASE + 5
        ]
        names = [f["name"] for f in near]
        if attempt is not None and attempt["succeeded"] and r in late:
            kind = "recorded after its lease ran out"
            detail = f"answered during '{_database_cut(host, r, faults)[0]['name']}'"
        elif attempt is None or attempt["succeeded"]:
            kind, detail = "bug", "recorded as succeeded twice" if attempt else "no attempt row"
        elif attempt["error"] == DeliveryAttempt.UNFINISHED:
            # a kill of its sender that came after the answer, within a lease of it
            kills = [
                f
                for f in near
                if host in f["hosts"]
                and f["name"].startswith("SIGKILL")
                and f["start"] - LEASE <= r["end"] <= f["start"] + 1.0
            ]
            # a graceful stop (SIGTERM) lasts until its cluster is down (at most 20 s, then SIGKILL)
            stops = [
                f
                for f in near
                if host in f["hosts"]
                and f["name"].startswith("restart")
                and f["start"] - LEASE <= r["end"] <= f["end"]
            ]
            database = [
                f
                for f in near
                if f["name"].startswith("PostgreSQL") or (host in f["hosts"] and "db" in f["name"])
            ]
            if kills:
                gap = kills[0]["start"] - r["end"]
                kind = "answered before a kill" if gap > 0.5 else "in flight at a kill"
                detail = f"answered {gap:.2f} s before '{kills[0]['name']}'"
            elif stops:
                kind = "answered during a graceful stop"
                detail = f"answered {r['end'] - stops[0]['start']:.1f} s into '{stops[0]['name']}' ({stops[0]['end'] - stops[0]['start']:.0f} s)"
            elif database:
                kind, detail = "recording lost with the database", f"during '{database[0]['name']}'"
            else:
                kind, detail = "unexplained", "attempt unfinished, no fault of its sender"
        else:
            sender_end = attempt["started_at"].timestamp() + attempt["duration_ms"] / 1000
            if r["start"] > sender_end:
                kind = "late after the sender gave up"
                detail = f"arrived {r['start'] - sender_end:.1f} s after its sender recorded: {attempt['error'][:60]}"
            else:
                kind, detail = "answer lost", f"recorded: {attempt['error'][:60]}"
            if not near:
                kind = "unexplained"
        found.append(
            {
                "webhook_id": wid,
                "attempt": r["attempt"],
                "sender": host,
                "kind": kind,
                "detail": detail,
                "faults": names,
            }
        )
    return found


def check(stack: Stack, load: Load, faultlog: FaultLog, *, label: str) -> dict:
    from django.db import connection

    from callbacks_app.models import Delivery, DeliveryAttempt, TargetAlert
    from tasks_app.models import Task

    connection.close()
    stack.receiver("POST", "/flush")
    receipts = [r for r in read_receipts(stack.receiver_log) if r["start"] >= load.since]
    by_id: dict[str, list[dict]] = defaultdict(list)
    for r in receipts:
        by_id[r["id"]].append(r)

    owners = [p.user_id for p in load.accounts]
    completed = set(Task.objects.filter(owner_id__in=owners, status="completed").values_list("id", flat=True))
    deliveries = list(
        Delivery.objects.filter(task_id__in=completed, event="task.completed").values_list(
            "id", "task_id", "status"
        )
    )
    delivered_ids = {d for d, rs in by_id.items() if any(200 <= r["status"] < 300 for r in rs)}
    tasks_with_delivery = {task for _, task, _ in deliveries}
    lost = [(d, task, status) for d, task, status in deliveries if d not in delivered_ids]
    no_delivery = completed - tasks_with_delivery
    ledger = defaultdict(int)
    for _, _, status in deliveries:
        ledger[status] += 1

    # no two attempts of one delivery in flight at once, as the receiver saw them
    # An overlap the sender did not make: the ledger ended the earlier attempt (its start plus its
    # duration, as the sender measured it) before the later one reached the receiver; only the
    # earlier connection's close did not reach the receiver (a partition between them).
    overlaps, overlaps_explained = [], []
    for wid, rs in by_id.items():
        rs = sorted(rs, key=lambda r: r["start"])
        for a, b in itertools.pairwise(rs):
            if b["start"] < a["end"]:
                ended = (
                    DeliveryAttempt.objects.filter(delivery_id=wid, number=int(a["attempt"] or 0))
                    .exclude(error=DeliveryAttempt.UNFINISHED)
                    .values_list("started_at", "duration_ms")
                    .first()
                )
                sender_end = ended[0].timestamp() + ended[1] / 1000 if ended else None
                if sender_end is not None and sender_end <= b["start"]:
                    overlaps_explained.append((wid, a, b, sender_end))
                else:
                    overlaps.append((wid, a, b))

    # duplicates: a delivery answered 2xx more than once; each receipt beyond the one the ledger
    # recorded as succeeded is explained by its own attempt's record and the faults of its sender
    duplicates = []
    for wid, rs in by_id.items():
        ok = sorted((r for r in rs if 200 <= r["status"] < 300), key=lambda r: r["start"])
        if len(ok) >= 2:
            duplicates += duplicate_explain(wid, ok, faultlog.entries)
    unmatched = [d for d in duplicates if d["kind"] in ("bug", "unexplained")]
    kinds: dict[str, int] = defaultdict(int)
    for d in duplicates:
        kinds[d["kind"]] += 1

    # the per-origin cap at the receiver
    stats = stack.receiver("GET", "/stats")
    peak = max((int(v) for v in stats.get("peak_by_origin", {}).values()), default=0)

    # callback_succeeded agrees with the ledger (the latest finished delivery of each task)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM tasks_app_task t
            JOIN LATERAL (
              SELECT d.status FROM callbacks_app_delivery d
              WHERE d.task_id = t.id AND d.status IN ('succeeded', 'failed')
              ORDER BY d.finished_at DESC LIMIT 1
            ) last ON true
            WHERE t.owner_id = ANY(%s)
              AND t.callback_succeeded IS DISTINCT FROM (last.status = 'succeeded')
            """,
            [owners],
        )
        disagree = cursor.fetchone()[0]
        cursor.execute(
            """
            SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM a.started_at - a.due_at)),
                   percentile_disc(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM a.started_at - a.due_at)),
                   max(extract(epoch FROM a.started_at - a.due_at))
            FROM callbacks_app_deliveryattempt a JOIN callbacks_app_delivery d ON d.id = a.delivery_id
            WHERE d.owner_id = ANY(%s) AND a.due_at IS NOT NULL
            """,
            [owners],
        )
        lateness = cursor.fetchone()

    # alerts: each alert's operators' webhook received at least once
    alerts = list(TargetAlert.objects.values_list("id", "kind"))
    ops = Delivery.objects.filter(event="ops.alert").values_list("id", "payload")
    received_alerts = set()
    for delivery_id, payload in ops:
        if delivery_id in delivered_ids:
            received_alerts.add(json.loads(payload)["data"]["alert_id"])
    alerts_missing = [a for a in alerts if a[0] not in received_alerts]

    report = {
        "label": label,
        "completed": len(completed),
        "completions_counted_by_driver": len(load.completed),
        "completion_rate": round(len(load.completed) / max(1.0, getattr(load, "load_seconds", 1.0)), 1),
        "deliveries_by_status": dict(ledger),
        "lost": len(lost) + len(no_delivery),
        "lost_examples": lost[:5],
        "receipts": len(receipts),
        "overlaps": len(overlaps),
        "overlap_examples": [(w, a["start"], a["end"], b["start"]) for w, a, b in overlaps[:5]],
        "overlaps_sender_ended_first": [
            {"webhook_id": w, "earlier": [a["start"], a["end"]], "sender_ended": e, "later_start": b["start"]}
            for w, a, b, e in overlaps_explained
        ],
        "duplicates": duplicates,
        "duplicates_unmatched": len(unmatched),
        "duplicates_by_kind": dict(kinds),
        "deliveries_received_twice": len({d["webhook_id"] for d in duplicates}),
        "peak_per_origin": peak,
        "cap": CAP,
        "callback_succeeded_disagree": disagree,
        "lateness_s": {"p50": lateness[0], "p99": lateness[1], "max": lateness[2]},
        "alerts": [kind for _, kind in alerts],
        "alerts_missing": len(alerts_missing),
        "faults": faultlog.entries,
        "driver_errors": dict(load.errors),
    }
    report["held"] = {
        "0 lost": report["lost"] == 0,
        "no overlap": report["overlaps"] == 0,
        "duplicates matched to faults": report["duplicates_unmatched"] == 0,
        "per-origin cap": peak <= CAP,
        "callback_succeeded agrees": disagree == 0,
        "alerts at least once": bool(alerts) and not alerts_missing,
    }
    return report


def soak_summary(samples: list[dict], warmup: float = 300) -> list[str]:
    """Per role: memory (USS), file descriptors and processes at the first sample after the
    warm-up, at the last, and their extremes; PostgreSQL's connections likewise."""
    if len(samples) < 2:
        return []
    t0 = samples[0]["t"]
    steady = [s for s in samples if s["t"] - t0 >= min(warmup, (samples[-1]["t"] - t0) / 2)] or samples
    first, last = steady[0], steady[-1]
    lines = [f"samples: {len(samples)}, compared from {first['t'] - t0:.0f} s to {last['t'] - t0:.0f} s"]
    for role in first["roles"]:
        values = [s["roles"][role] for s in steady if role in s["roles"]]
        a, b = first["roles"][role], last["roles"].get(role, {})
        if not b:
            continue
        change = (b["uss_mb"] - a["uss_mb"]) / a["uss_mb"] * 100 if a["uss_mb"] else 0.0
        lines.append(
            f"{role}: memory {a['uss_mb']} → {b['uss_mb']} MB ({change:+.1f} %, "
            f"range {min(v['uss_mb'] for v in values)}–{max(v['uss_mb'] for v in values)}), "
            f"fds {a['fds']} → {b['fds']} (max {max(v['fds'] for v in values)}), processes {b['processes']}"
        )
    connections = [s.get("pg_connections") for s in steady if s.get("pg_connections") is not None]
    if connections:
        lines.append(f"PostgreSQL connections: {connections[0]} → {connections[-1]} (max {max(connections)})")
    return lines


def print_report(report: dict) -> None:
    held = report["held"]
    print(f"\n=== {report['label']} ===")
    print(
        f"completed tasks {report['completed']}, deliveries {report['deliveries_by_status']}, "
        f"receipts {report['receipts']}, driver errors {report['driver_errors']}"
    )
    print(f"completions: {report['completions_counted_by_driver']}, {report['completion_rate']}/s achieved")
    print(f"faults injected: {len(report['faults'])}")
    for f in report["faults"]:
        print(f"  - {f['name']} ({f['end'] - f['start']:.1f} s)")
    print(f"lost: {report['lost']} {report['lost_examples'] or ''}")
    print(f"overlapping attempts of one webhook-id: {report['overlaps']} {report['overlap_examples'] or ''}")
    for o in report["overlaps_sender_ended_first"]:
        print(
            f"  - seen by the receiver only: {o['webhook_id']}: the sender ended the earlier attempt "
            f"{o['later_start'] - o['sender_ended']:.1f} s before the next; its close arrived "
            f"{o['earlier'][1] - o['later_start']:.1f} s after the next began (a partition)"
        )
    print(
        f"duplicate receipts: {len(report['duplicates'])} of {report['deliveries_received_twice']} deliveries "
        f"(unexplained or a bug: {report['duplicates_unmatched']})"
    )
    for kind, n in sorted(report["duplicates_by_kind"].items(), key=lambda kv: -kv[1]):
        print(f"  {n} × {kind}: {DUPLICATE_KINDS[kind]}")
    for d in report["duplicates"]:
        print(
            f"    {d['webhook_id']} attempt {d['attempt']} from {d['sender']}: {d['kind']}, {d['detail']}; {d['faults']}"
        )
    print(f"per-origin peak at the receiver: {report['peak_per_origin']} (cap {report['cap']})")
    print(f"callback_succeeded disagreeing with the ledger: {report['callback_succeeded_disagree']}")
    lat = report["lateness_s"]
    print(f"lateness of attempts (start - due): p50 {lat['p50']}, p99 {lat['p99']}, max {lat['max']} s")
    print(f"alerts: {report['alerts']} (not received at the operators' webhook: {report['alerts_missing']})")
    for line in soak_summary(report.get("samples", [])):
        print(f"  {line}")
    for name, ok in held.items():
        print(f"  [{'held' if ok else 'BROKEN'}] {name}")


def report_markdown(reports: list[dict], command: str) -> str:
    """The reports as Markdown, for docs/reliability.md."""
    out = [f"`{command}`", ""]
    for report in reports:
        lat = report["lateness_s"]
        out += [
            f"**{report['label']}**: {report['completed']} tasks completed "
            f"({report['completion_rate']}/s), deliveries {report['deliveries_by_status']}, "
            f"{report['receipts']} requests at the receiver; attempts' lateness p50 "
            f"{float(lat['p50'] or 0):.2f} s, p99 {float(lat['p99'] or 0):.2f} s, max {float(lat['max'] or 0):.2f} s.",
            "",
            "Faults injected: "
            + "; ".join(f"{f['name']} ({f['end'] - f['start']:.1f} s)" for f in report["faults"])
            + ".",
            "",
            "| invariant | result |",
            "|---|---|",
            f"| 0 lost | {'held' if report['held']['0 lost'] else 'BROKEN'}: {report['lost']} lost |",
            f"| no overlap | {'held' if report['held']['no overlap'] else 'BROKEN'}: {report['overlaps']} overlapping; "
            f"{len(report['overlaps_sender_ended_first'])} seen by the receiver only (the sender had ended the earlier) |",
            f"| duplicates matched to faults | {'held' if report['held']['duplicates matched to faults'] else 'BROKEN'}: "
            f"{len(report['duplicates'])} duplicate receipts of {report['deliveries_received_twice']} deliveries, "
            f"{report['duplicates_unmatched']} unexplained |",
            f"| per-origin cap | {'held' if report['held']['per-origin cap'] else 'BROKEN'}: peak {report['peak_per_origin']}, cap {report['cap']} |",
            f"| `callback_succeeded` agrees | {'held' if report['held']['callback_succeeded agrees'] else 'BROKEN'}: "
            f"{report['callback_succeeded_disagree']} disagree |",
            f"| alerts at least once | {'held' if report['held']['alerts at least once'] else 'BROKEN'}: "
            f"{len(report['alerts'])} alerts, {report['alerts_missing']} not received |",
            "",
        ]
        if report["duplicates_by_kind"]:
            out += ["| duplicates | kind | what happened |", "|---|---|---|"]
            for kind, n in sorted(report["duplicates_by_kind"].items(), key=lambda kv: -kv[1]):
                out.append(f"| {n} | {kind} | {DUPLICATE_KINDS[kind]} |")
            out.append("")
    return "\n".join(out)
