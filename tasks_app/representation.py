"""The task object (SPEC §4): the shape of every task response and of ``task`` in callbacks.

Its fields are declared once, in ``schema.TaskOutput`` (the documented
contract): a new model field never slips into the public contract by itself.
``task_representation`` is on the completion hot path, so the field table is
read once, at import, into plain tuples. A list page's tasks are read as rows, their JSON
columns as the database's text (``task_document_columns``), and put in the answer as they are
(``task_documents``: orjson fragments), never parsed into objects to be serialized again.
"""

from operator import attrgetter

import orjson
from django.db.models import Count, JSONField, Q, TextField
from django.db.models.functions import Cast

from scalehooks.api.fields import TimestampField
from scalehooks.timestamps import format_timestamp
from tasks_app.models import Task
from tasks_app.schema import TaskOutput

# Absent from the object until set, as in Scale's API: key → "unset" test.
_ABSENT_WHEN = {
    "callback_succeeded": lambda value: value is None,
    "unique_id": lambda value: value is None,
    "tags": lambda value: value is None,
    "customer_review_status": lambda value: not value,
}


def _field_table():
    fields = TaskOutput().fields
    optional = [(name, field.source) for name, field in fields.items() if not field.required]
    if {name for name, _ in optional} != set(_ABSENT_WHEN):
        raise ImportError("TaskOutput's optional fields and _ABSENT_WHEN disagree")
    required = [(name, field) for name, field in fields.items() if field.required]
    return (
        tuple(name for name, _ in required),
        attrgetter(*(field.source for _, field in required)),
        tuple(name for name, field in required if isinstance(field, TimestampField)),
        tuple((name, source, _ABSENT_WHEN[name]) for name, source in optional),
        tuple((name, field.source) for name, field in required),
    )


_REQUIRED, _read_required, _TIMESTAMPS, _OPTIONAL, _REQUIRED_SOURCES = _field_table()
_JSON_COLUMNS = frozenset(
    field.attname for field in Task._meta.concrete_fields if isinstance(field, JSONField)
)


def task_representation(task) -> dict:
    data = dict(zip(_REQUIRED, _read_required(task), strict=True))
    for name in _TIMESTAMPS:
        data[name] = format_timestamp(data[name])
    for name, source, absent in _OPTIONAL:
        value = getattr(task, source)
        if not absent(value):
            data[name] = value
    return data


def task_document_columns() -> tuple[list[str], dict]:
    """What ``QuerySet.values`` reads for ``task_documents``: the object's plain columns, and
    its JSON columns as text (each under ``json_<name>``)."""
    sources = [*(source for _, source in _REQUIRED_SOURCES), *(source for _, source, _ in _OPTIONAL)]
    plain = [source for source in sources if source not in _JSON_COLUMNS]
    as_text = {f"json_{source}": Cast(source, TextField()) for source in sources if source in _JSON_COLUMNS}
    return plain, as_text


def _json_text(text):
    """A JSON column's text as a fragment of the answer; SQL NULL (and JSON null) is None."""
    return None if text is None or text == "null" else orjson.Fragment(text)


def task_documents(rows) -> list[dict]:
    """The task objects of rows read with ``task_document_columns``: the same keys, in the same
    order, as ``task_representation`` gives."""
    documents = []
    for row in rows:
        data = {}
        for name, source in _REQUIRED_SOURCES:
            if source in _JSON_COLUMNS:
                data[name] = _json_text(row[f"json_{source}"])
            else:
                data[name] = row[source]
        for name in _TIMESTAMPS:
            data[name] = format_timestamp(data[name])
        for name, source, absent in _OPTIONAL:
            value = _json_text(row[f"json_{source}"]) if source in _JSON_COLUMNS else row[source]
            if not absent(value):
                data[name] = value
        documents.append(data)
    return documents


def profile_representation(profile, *, mode: str) -> dict:
    """``GET /v1/profile``: the account's callback settings for the key's mode (SPEC §3);
    nothing of the other mode."""
    return {
        "email": profile.user.email,
        "default_callback_url": profile.default_callback_url_of(mode),
        "callback_auth_key": profile.callback_auth_key(mode),
        "signing_secret": profile.signing_secret_of(mode),
        "test_tasks_autocomplete": profile.test_tasks_autocomplete,
    }


def task_page_representation(page) -> dict:
    """``GET /v1/tasks``: the shape the official client reads (``page.docs``: ``task_documents``)."""
    return {
        "docs": page.docs,
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
        "has_more": page.has_more,
        "next_token": page.next_token,
    }


# --- projects and batches (SPEC §12) ----------------------------------------------


def project_representation(project) -> dict:
    return {
        "name": project.name,
        "type": project.type,
        "params": project.params,
        "param_history": project.param_history,
        "created_at": format_timestamp(project.created_at),
    }


def batch_representation(batch) -> dict:
    """The batch object; ``batch.project`` is read (select it with the batch)."""
    return {
        "name": batch.name,
        "project": batch.project.name,
        "status": batch.status,
        "callback": batch.callback,
        "metadata": batch.metadata,
        "created_at": format_timestamp(batch.created_at),
        "completed_at": format_timestamp(batch.completed_at) if batch.completed_at else None,
        "calibration_batch": batch.calibration_batch,
        "self_label_batch": batch.self_label_batch,
    }


def batch_counts(batch) -> dict[str, int]:
    """The batch's tasks counted by status, every status (zeros included): one query."""
    return Task.objects.filter(owner_id=batch.owner_id, is_test=batch.is_test, batch=batch.name).aggregate(
        **{status: Count("id", filter=Q(status=status)) for status in Task.Status.values}
    )


def batch_status_representation(batch) -> dict:
    """``GET /v1/batches/{name}/status``: the batch's status and the four counts."""
    return {"status": batch.status, **batch_counts(batch)}


def batch_page_representation(*, batches, total: int, limit: int, offset: int) -> dict:
    """``GET /v1/batches``: the shape the official client reads (``totalDocs``, offset paging)."""
    return {
        "docs": [batch_representation(batch) for batch in batches],
        "totalDocs": total,
        "limit": limit,
        "offset": offset,
        "has_more": offset + len(batches) < total,
    }
