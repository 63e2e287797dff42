"""The task object (SPEC §4): the shape of every task response and of ``task`` in callbacks.

Its fields are declared once, in ``schema.TaskOutput`` (the documented
contract): a new model field never slips into the public contract by itself.
``task_representation`` is on the completion hot path, so the field table is
read once, at import, into plain tuples.
"""

from operator import attrgetter

from scalehooks.api.fields import TimestampField
from scalehooks.timestamps import format_timestamp
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
    )


_REQUIRED, _read_required, _TIMESTAMPS, _OPTIONAL = _field_table()


def task_representation(task) -> dict:
    data = dict(zip(_REQUIRED, _read_required(task), strict=True))
    for name in _TIMESTAMPS:
        data[name] = format_timestamp(data[name])
    for name, source, absent in _OPTIONAL:
        value = getattr(task, source)
        if not absent(value):
            data[name] = value
    return data


def profile_representation(profile, *, mode: str) -> dict:
    """``GET /v1/profile``: the account's callback settings for the key's mode (SPEC §3)."""
    return {
        "email": profile.user.email,
        "default_callback_url": profile.default_callback_url,
        "callback_auth_key": profile.callback_auth_key(mode),
        "signing_secret": profile.signing_secret,
        "test_tasks_autocomplete": profile.test_tasks_autocomplete,
    }


def task_page_representation(page) -> dict:
    """``GET /v1/tasks``: the shape the official client reads."""
    return {
        "docs": [task_representation(task) for task in page.docs],
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
        "has_more": page.has_more,
        "next_token": page.next_token,
    }
