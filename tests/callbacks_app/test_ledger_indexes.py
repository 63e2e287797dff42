"""The hot path's tables carry no index that another of theirs already serves (migration 0014).

Every index of a table is written at each write that changes one of its columns; on
PostgreSQL every write of these rows does (a task is written twice per callback, a
delivery three times, its attempt twice). An index is redundant when its columns are the
first columns of another index of the table that covers every row (not partial), or of its
primary key: a foreign key's own index beside a composite index it leads, or the
``varchar_pattern_ops`` index PostgreSQL gets for a character primary key.
"""

import pytest
from django.db import connection

from callbacks_app.models import Delivery, DeliveryAttempt
from tasks_app.models import Task

HOT_TABLES = [Task, Delivery, DeliveryAttempt]


def _indexes(model) -> dict[str, dict]:
    """The table's indexes and constraints with columns, as the database reports them, each
    marked ``partial`` where ``Meta.indexes`` gives it a condition."""
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, model._meta.db_table)
    partial = {index.name for index in model._meta.indexes if index.condition is not None}
    return {
        name: {**info, "partial": name in partial}
        for name, info in found.items()
        if info["columns"] and (info["index"] or info["unique"] or info["primary_key"])
    }


def _redundant(indexes: dict[str, dict]) -> list[tuple[str, str]]:
    found = []
    for name, info in indexes.items():
        if info["unique"] or info["primary_key"] or info["partial"]:
            continue  # a constraint, or smaller than the table: not served by another
        width = len(info["columns"])
        for other, other_info in indexes.items():
            if (
                other != name
                and not other_info["partial"]
                and other_info["columns"][:width] == info["columns"]
            ):
                found.append((name, other))
                break
    return found


@pytest.mark.parametrize("model", HOT_TABLES, ids=lambda model: model.__name__)
def test_no_index_of_a_hot_table_is_served_by_another(db, model):
    indexes = _indexes(model)
    assert indexes, "the introspection found the table's indexes"
    assert _redundant(indexes) == []


def test_the_rule_finds_an_index_that_leads_another():
    """The check itself: a plain index on what leads a composite one, or on the primary key, is
    found; a partial index or a unique one is not."""
    plain = {"unique": False, "primary_key": False, "partial": False}
    indexes = {
        "pk": {**plain, "columns": ["id"], "unique": True, "primary_key": True},
        "id_like": {**plain, "columns": ["id"]},
        "owner_fk": {**plain, "columns": ["owner_id"]},
        "list": {**plain, "columns": ["owner_id", "is_test", "created_at"]},
        "due": {**plain, "columns": ["owner_id"], "partial": True},
        "unique_name": {**plain, "columns": ["owner_id"], "unique": True},
    }
    assert _redundant(indexes) == [("id_like", "pk"), ("owner_fk", "list")]
