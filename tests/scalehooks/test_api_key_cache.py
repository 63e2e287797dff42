"""The API keys' cache in Redis (scalehooks/api/authentication.py ``KeyCache``): a key's account
is read from Redis once looked up, and forgotten by the next request after any change of it.

Redis only: the suite's PostgreSQL run (make test-postgres) sets REDIS_URL; without it every
request reads the database and there is nothing cached to forget.
"""

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tasks_app.accounts import api_keys_rotate
from tasks_app.models import Profile
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

MISSING_TASK = "/v1/task/0123456789abcdef01234567"


@pytest.fixture(autouse=True)
def _needs_redis():
    if not settings.REDIS_URL:
        pytest.skip("the key cache needs REDIS_URL (the suite's PostgreSQL run, make test-postgres)")


def queries_of(client, path: str, method: str = "get", **kwargs) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        answer = getattr(client, method)(path, **kwargs)
    return answer.status_code, [query["sql"] for query in captured.captured_queries]


def test_a_known_key_is_read_from_redis_not_from_the_database(api, account):
    client = api.as_key(account.live_api_key)
    task = TaskFactory(owner=account.profile.user)
    client.get(f"/v1/task/{task.id}")  # looked up once

    status, queries = queries_of(client, f"/v1/task/{task.id}")

    assert status == 200
    assert len(queries) == 1 and "tasks_app_task" in queries[0]  # the task only, no profile


def test_a_rotated_key_is_refused_by_the_next_request(api, account):
    client = api.as_key(account.live_api_key)
    assert client.get(MISSING_TASK).status_code == 404  # cached
    assert not any("tasks_app_profile" in sql for sql in queries_of(client, MISSING_TASK)[1])

    keys = api_keys_rotate(profile=Profile.objects.get(pk=account.profile.pk))

    assert client.get(MISSING_TASK).status_code == 401
    assert api.as_key(account.test_api_key).get(MISSING_TASK).status_code == 401
    assert api.as_key(keys.live_api_key).get(MISSING_TASK).status_code == 404


def test_a_deactivated_user_is_refused_by_the_next_request(api, account):
    client = api.as_key(account.live_api_key)
    assert client.get(MISSING_TASK).status_code == 404
    user = account.profile.user

    user.is_active = False
    user.save(update_fields=["is_active"])

    assert client.get(MISSING_TASK).status_code == 401


def test_an_operator_taken_out_of_the_group_loses_the_ops_routes_at_once(operator, operator_account, account):
    task = TaskFactory(owner=account.profile.user)
    path = f"/v1/ops/task/{task.id}/error"
    assert operator.post(path, {"error": "x"}, format="json").status_code == 200
    status, queries = queries_of(operator, path, method="post", data={"error": "x"}, format="json")
    # An error again is refused (400) by the operator's route: permissions read from the cache.
    assert status == 400 and not any("auth_permission" in sql for sql in queries)

    operator_account.profile.user.groups.clear()

    assert operator.post(path, {"error": "x"}, format="json").status_code == 404


def test_a_changed_setting_is_read_by_the_next_request(customer, account):
    customer.get(MISSING_TASK)
    profile = Profile.objects.get(pk=account.profile.pk)
    profile.allowed_networks = ["10.0.0.0/8"]
    profile.save(update_fields=["allowed_networks"])

    answer = customer.post(
        "/v1/task/categorization",
        {"callback_url": "http://10.1.2.3/cb", "attachment": "tomato", "categories": ["red", "blue"]},
        format="json",
    )

    assert answer.status_code == 200, answer.content


def test_no_secret_is_cached(customer, account):
    customer.get(MISSING_TASK)
    client = redis.Redis.from_url(settings.REDIS_URL)
    entries = b"".join(client.get(name) or b"" for name in client.scan_iter("*apikey:*"))
    profile = Profile.objects.get(pk=account.profile.pk)

    assert account.profile.live_api_key_prefix.encode() in entries  # the entry is there
    for secret in (
        account.live_api_key,
        account.test_api_key,
        profile.live_callback_auth_key,
        profile.test_callback_auth_key,
        profile.live_signing_secret,
        profile.test_signing_secret,
    ):
        assert secret.encode() not in entries
