"""Target health's reads and writes of a recorded batch in hand-written SQL (SPEC §16).

Every batch the engine records counts into the ``TargetHealth`` row of each origin it
touched and that row's current ten-minute ``TargetHealthSlot`` (``callbacks_app.health``).
Through the ORM that was a locking read of the rows, a read of their slots and a
``bulk_create`` upsert of the slots: about 2 ms of CPU a batch in compiling and building
models (docs/benchmarks.md, "The engine's CPU alone"). Here the rows are locked in one
statement, their slots read in one (after the lock: see ``_Statements``) and written in one,
each text built once per connection and prepared on PostgreSQL (the keys passed as arrays).

The rule (docs/architecture.md): hand-written SQL lives only in the module of its hot
path, passes values through the fields' own conversions, and each statement is tested
on both backends against its ORM counterpart (tests/callbacks_app/test_health_sql.py).
"""

from datetime import datetime

from callbacks_app.models import TargetHealth, TargetHealthSlot
from scalehooks.db import (
    array_of,
    field_converters,
    from_row,
    one_of,
    per_connection,
    update_each,
)

_HEALTH_FIELDS = tuple(TargetHealth._meta.concrete_fields)
_HEALTH_ATTNAMES = [field.attname for field in _HEALTH_FIELDS]
_SLOT_COUNTS = ("attempts", "succeeded", "exhausted", "durations")  # what a batch adds to a slot
_SLOT_READ = tuple(TargetHealthSlot._meta.get_field(name) for name in ("id", *_SLOT_COUNTS))
_SLOT_WRITTEN = tuple(TargetHealthSlot._meta.get_field(name) for name in ("health", "start", *_SLOT_COUNTS))


class _Statements:
    def __init__(self, conn):
        q = conn.ops.quote_name
        health, slot = q(TargetHealth._meta.db_table), q(TargetHealthSlot._meta.db_table)
        self.rows_head = (
            f"SELECT {', '.join(q(field.column) for field in _HEALTH_FIELDS)} FROM {health} WHERE "
        )
        self.keys = [TargetHealth._meta.get_field(name) for name in ("owner", "mode", "origin")]
        self.rows_tail = f" ORDER BY {q('id')}"
        # The slots are read by a statement of their own, once the rows are locked: in READ
        # COMMITTED it sees the slot as a recording that held the lock before left it, where a
        # join in the locking statement would have read it as of that statement's start.
        self.slots_head = (
            f"SELECT {q('health_id')}, {', '.join(q(field.column) for field in _SLOT_READ)} FROM {slot} "
            f"WHERE {q('start')} = %s AND {q('health_id')} "
        )
        self.health_converters = field_converters(conn, TargetHealth, _HEALTH_FIELDS)
        self.slot_converters = field_converters(conn, TargetHealthSlot, _SLOT_READ)
        written = ", ".join(q(field.column) for field in _SLOT_WRITTEN)
        upsert = f" ON CONFLICT ({q('health_id')}, {q('start')}) DO UPDATE SET " + ", ".join(
            f"{q(name)} = EXCLUDED.{q(name)}" for name in _SLOT_COUNTS
        )
        self.slots_per_row = (
            f"INSERT INTO {slot} ({written}) VALUES ({', '.join(['%s'] * len(_SLOT_WRITTEN))})" + upsert
        )
        self.slots_per_batch = (
            f"INSERT INTO {slot} ({written}) SELECT * FROM unnest("
            + ", ".join(array_of(field, conn) for field in _SLOT_WRITTEN)
            + ")"
            + upsert
        )


_connection = per_connection(_Statements)


def rows_locked(
    *, keys: list[tuple[int, str, str]], slot_start: datetime
) -> dict[tuple, tuple[TargetHealth, TargetHealthSlot | None]]:
    """The health rows of ``keys`` ((account, mode, origin)), each with its slot of ``slot_start``
    (None when it has none yet); locked in id order where rows lock. Missing keys are absent.

    Selected by three lists, one per column (a few rows more may be locked, never fewer), as
    ``health._locked_rows`` has always done.
    """
    if not keys:
        return {}
    conn, st = _connection()
    conditions, params = [], []
    for i, field in enumerate(st.keys):
        condition, values = one_of(field, conn, sorted({key[i] for key in keys}))
        conditions.append(f"{conn.ops.quote_name(field.column)} {condition}")
        params += values
    locked = " FOR UPDATE" if conn.features.has_select_for_update else ""
    with conn.cursor() as cursor:
        cursor.execute(st.rows_head + " AND ".join(conditions) + st.rows_tail + locked, params)
        found = cursor.fetchall()
    wanted = set(keys)
    rows = {}
    for line in found:
        row = TargetHealth.from_db(conn.alias, _HEALTH_ATTNAMES, from_row(conn, st.health_converters, line))
        key = (row.owner_id, row.mode, row.origin)
        if key in wanted:
            rows[row.id] = (key, row)
    slots = _slots_of(conn, st, health_ids=list(rows), slot_start=slot_start)
    return {key: (row, slots.get(health_id)) for health_id, (key, row) in rows.items()}


def _slots_of(conn, st: _Statements, *, health_ids: list[int], slot_start: datetime) -> dict:
    """The slots of ``slot_start`` of these health rows, by row id (read after their lock)."""
    if not health_ids:
        return {}
    start = TargetHealthSlot._meta.get_field("start").get_db_prep_value(slot_start, conn)
    condition, ids = one_of(TargetHealthSlot._meta.get_field("health"), conn, health_ids)
    with conn.cursor() as cursor:
        cursor.execute(st.slots_head + condition, [start, *ids])
        found = cursor.fetchall()
    slots = {}
    for health_id, *line in found:
        slot_id, *counts = from_row(conn, st.slot_converters, line)
        slots[health_id] = TargetHealthSlot(
            id=slot_id, health_id=health_id, start=slot_start, **dict(zip(_SLOT_COUNTS, counts, strict=True))
        )
    return slots


def slots_write(slots: list[TargetHealthSlot]) -> None:
    """Write these slots' counts, inserting those new: one statement on PostgreSQL.

    Call it under the locks of their health rows (``rows_locked``): the counts are
    the slot's as read there plus the batch's, written whole.
    """
    if not slots:
        return
    conn, st = _connection()
    rows = [
        tuple(field.get_db_prep_save(getattr(slot, field.attname), conn) for field in _SLOT_WRITTEN)
        for slot in slots
    ]
    update_each(per_row=st.slots_per_row, per_batch=st.slots_per_batch, rows=rows)
