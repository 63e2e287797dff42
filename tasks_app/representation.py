"""The task object (SPEC §4): the shape of every task response and of ``task`` in callbacks.

Fields are listed explicitly: a new model field must never slip into the
public contract by itself.
"""

from datetime import datetime, timezone


def format_timestamp(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and ``Z``: ``2016-06-23T21:54:44.904Z``."""
    if value is None:
        return None
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def task_representation(task) -> dict:
    data = {
        "task_id": task.id,
        "created_at": format_timestamp(task.created_at),
        "updated_at": format_timestamp(task.updated_at),
        "completed_at": format_timestamp(task.completed_at),
        "type": task.type,
        "status": task.status,
        "instruction": task.instruction,
        "params": task.params,
        "response": task.response,
        "callback_url": task.callback_url,
        "metadata": task.metadata,
        "tags": task.tags,
        "is_test": task.is_test,
        "project": task.project,
        "batch": task.batch,
        "audits": task.audits,
        "customer_review_comments": task.customer_review_comments,
        "prior_responses": task.prior_responses,
    }
    # Absent until set, as in Scale's API.
    if task.callback_succeeded is not None:
        data["callback_succeeded"] = task.callback_succeeded
    if task.unique_id is not None:
        data["unique_id"] = task.unique_id
    if task.customer_review_status:
        data["customer_review_status"] = task.customer_review_status
    return data


def profile_representation(profile, *, mode: str) -> dict:
    """``GET /v1/profile``: the account's callback settings for the key's mode (SPEC §3)."""
    return {
        "email": profile.user.email,
        "default_callback_url": profile.default_callback_url,
        "callback_auth_key": profile.callback_auth_key(mode),
        "signing_secret": profile.signing_secret,
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
