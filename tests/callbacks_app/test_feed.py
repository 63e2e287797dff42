"""The callback feed (SPEC §17, callbacks_app.feed): ``GET /v1/callbacks?after=&limit=&wait=``.

Its order and cursor, its isolation (another account, the other mode: nothing), the events
of tasks without a target (``not_sent``), the long-poll and its caps. On SQLite and, in
``make test-postgres``, on PostgreSQL + Redis; the cursor's stability under transactions
committing out of order is tests/callbacks_app/test_feed_postgres.py.
"""

import json
import threading
import time

import pytest
from django.db import connection, transaction

from callbacks_app.feed import Position, feed_page
from callbacks_app.feed_news import feed_hub
from callbacks_app.models import Delivery
from tasks_app.services import task_complete
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_waiter_left_behind():
    yield
    feed_hub.reset()


@pytest.fixture(autouse=True, scope="module")
def _no_listener_left_behind():
    """The feed's listener (PostgreSQL) keeps a connection to the test database, which could
    then not be dropped at the end of the run."""
    yield
    feed_hub.stop()


def _complete(owner, *, callback_url="", is_test=False, response=None) -> str:
    task = TaskFactory(owner=owner, callback_url=callback_url, is_test=is_test)
    task_complete(task_id=task.id, response=response or {"category": "red"})
    return task.id


def _feed(client, **query):
    response = client.get("/v1/callbacks", query)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_feed_lists_the_sides_events_in_the_order_they_happened_with_their_frozen_payload(
    customer, account, receiver
):
    first = _complete(account.user, callback_url=receiver.url)
    second = _complete(account.user, callback_url=receiver.url, response={"category": "blue"})

    body = _feed(customer)

    assert [event["task_id"] for event in body["callbacks"]] == [first, second]
    event = body["callbacks"][1]
    delivery = Delivery.objects.get(id=event["id"])
    assert event["event"] == "task.completed"
    assert event["target"] == receiver.url
    assert event["status"] == "pending"
    assert event["batch_name"] is None
    assert event["payload"] == json.loads(delivery.payload)
    assert event["payload"]["response"] == {"category": "blue"}
    assert body["has_more"] is False
    assert body["next_cursor"]


def test_an_event_of_a_task_without_a_target_is_in_the_feed_as_not_sent(customer, account):
    task_id = _complete(account.user)

    [event] = _feed(customer)["callbacks"]

    assert event["task_id"] == task_id
    assert event["status"] == "not_sent"
    assert event["target"] == ""
    assert event["payload"]["task_id"] == task_id
    delivery = Delivery.objects.get(id=event["id"])
    assert delivery.finished_at is not None
    assert delivery.next_attempt_at is None


def test_a_not_sent_event_is_never_picked_by_the_engine(account):
    from django.utils import timezone

    from callbacks_app.engine.picking import deliveries_to_send

    _complete(account.user)

    assert Delivery.objects.get().status == Delivery.Status.NOT_SENT
    assert deliveries_to_send(now=timezone.now(), limit=10) == []


def test_a_not_sent_event_leaves_callback_succeeded_absent(customer, account):
    task_id = _complete(account.user)

    assert "callback_succeeded" not in customer.get(f"/v1/task/{task_id}").json()


def test_the_cursor_pages_through_the_feed_and_sees_what_came_after(customer, account):
    ids = [_complete(account.user) for _ in range(5)]

    first = _feed(customer, limit=2)
    second = _feed(customer, limit=2, after=first["next_cursor"])
    third = _feed(customer, limit=2, after=second["next_cursor"])
    later = _complete(account.user)
    fourth = _feed(customer, limit=2, after=third["next_cursor"])

    assert [e["task_id"] for e in first["callbacks"]] == ids[:2]
    assert first["has_more"] is True
    assert [e["task_id"] for e in second["callbacks"]] == ids[2:4]
    assert [e["task_id"] for e in third["callbacks"]] == ids[4:]
    assert third["has_more"] is False
    assert [e["task_id"] for e in fourth["callbacks"]] == [later]


def test_an_empty_page_gives_back_the_cursor_it_was_given(customer, account):
    _complete(account.user)
    cursor = _feed(customer)["next_cursor"]

    body = _feed(customer, after=cursor)

    assert body == {"callbacks": [], "next_cursor": cursor, "has_more": False}


def test_another_account_and_the_other_mode_see_nothing_of_the_feed(
    api, customer, customer_test_mode, account, other_account
):
    _complete(account.user)
    test_task = _complete(account.user, is_test=True)

    assert _feed(api.as_key(other_account.live_api_key))["callbacks"] == []
    assert _feed(api.as_key(other_account.test_api_key))["callbacks"] == []
    assert [e["task_id"] for e in _feed(customer_test_mode)["callbacks"]] == [test_task]
    assert test_task not in [e["task_id"] for e in _feed(customer)["callbacks"]]


def test_a_cursor_of_one_side_reads_nothing_of_another_account(api, customer, account, other_account):
    _complete(account.user)
    cursor = _feed(customer)["next_cursor"]
    _complete(account.user)

    body = _feed(api.as_key(other_account.live_api_key), after=cursor)

    assert body["callbacks"] == []


@pytest.mark.parametrize(
    "query",
    [
        {"after": "not-a-cursor"},
        {"after": "MTIz"},  # "123": no dot
        {"after": "LTEuMg"},  # "-1.2"
        {"after": "OTk5OTk5OTk5OTk5OTk5OTk5OS4x"},  # beyond a bigint
        {"after": "OTIyMzM3MjAzNjg1NDc3NTgwOC4x"},  # 2**63: one beyond
        {"after": "MDEuMg"},  # a leading zero: not a cursor the feed wrote
        {"after": "MS4yLjM"},
        {"after": "2aEu2aI"},  # digits of another script
        {"after": "\x00"},
        {"limit": "0"},
        {"limit": "501"},
        {"limit": "ten"},
        {"wait": "31"},
        {"wait": "-1"},
    ],
)
def test_bad_input_is_a_400_in_the_error_shape(customer, account, query):
    response = customer.get("/v1/callbacks", query)

    assert response.status_code == 400
    assert set(response.json()) >= {"status_code", "error"}


def test_the_largest_position_reads_an_empty_page_not_an_error(customer, account):
    _complete(account.user)
    largest = Position(xid=2**63 - 1, seq=2**63 - 1).encode()

    body = _feed(customer, after=largest)

    assert body["callbacks"] == []


def test_a_position_round_trips_through_its_cursor():
    position = Position(xid=2**40 + 7, seq=123)

    assert Position.decode(position.encode()) == position


def test_a_batch_without_a_callback_is_in_the_feed_as_not_sent(account):
    from tasks_app.batches import batch_create, batch_finalize, project_create

    project_create(owner=account.user, mode="live", name="p", task_type="categorization", params={})
    batch = batch_create(owner=account.user, mode="live", project_name="p", name="b", callback="")
    batch_finalize(batch_id=batch.id)
    rows = feed_page(owner_id=account.user.id, is_test=False, after=None, limit=10).events

    assert [(row["event"], row["batch_name"], row["status"]) for row in rows] == [
        ("batch.completed", "b", "not_sent")
    ]


def test_the_feed_numbering_is_installed():
    """Every new row gets its place in the feed from the database (a later migration that
    remade the delivery table on SQLite would drop the trigger: this fails then)."""
    from callbacks_app.models.feed import FEED_TRIGGER

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = %s", [FEED_TRIGGER]
            )
            assert cursor.fetchone()[0] == 1


def test_every_way_of_inserting_a_delivery_numbers_it_in_order(account, receiver):
    """The ORM, and the completion's hand-written INSERT (and on PostgreSQL its one-statement
    completion), leave the position to the database."""
    _complete(account.user, callback_url=receiver.url)
    _complete(account.user)
    from tests.factories import DeliveryFactory

    DeliveryFactory(task=TaskFactory(owner=account.user), owner=account.user)

    positions = list(Delivery.objects.order_by("feed_xid", "feed_seq").values_list("feed_xid", "feed_seq"))
    assert len(positions) == 3
    assert all(seq is not None for _, seq in positions)
    assert len(set(positions)) == 3


# --- long-poll ------------------------------------------------------------------------


def _get_in_thread(client, query):
    answer = {}

    def run():
        started = time.monotonic()
        answer["response"] = client.get("/v1/callbacks", query)
        answer["seconds"] = time.monotonic() - started
        connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, answer


def _waiting_count(owner_id) -> int:
    return feed_hub._by_account.get(owner_id, 0)


def test_a_waiting_request_is_answered_with_the_event_committed_meanwhile(customer, account):
    from tests.waiting import wait_until

    thread, answer = _get_in_thread(customer, {"wait": 20})
    wait_until(lambda: _waiting_count(account.user.id) == 1, 10, "the request waits")
    task_id = _complete(account.user)
    thread.join(timeout=20)

    body = answer["response"].json()
    assert [e["task_id"] for e in body["callbacks"]] == [task_id]
    assert answer["seconds"] < 20  # answered by the event, not by the end of the wait


def test_a_waiting_request_is_not_answered_by_another_accounts_event(customer, account, other_account):
    thread, answer = _get_in_thread(customer, {"wait": 1})
    from tests.waiting import wait_until

    wait_until(lambda: _waiting_count(account.user.id) == 1, 10, "the request waits")
    _complete(other_account.user)
    _complete(account.user, is_test=True)
    thread.join(timeout=10)

    assert answer["response"].json()["callbacks"] == []
    assert answer["seconds"] >= 1


def test_an_event_rolled_back_answers_no_waiting_request(customer, account):
    from tests.waiting import wait_until

    thread, answer = _get_in_thread(customer, {"wait": 1})
    wait_until(lambda: _waiting_count(account.user.id) == 1, 10, "the request waits")
    task = TaskFactory(owner=account.user, callback_url="")
    with pytest.raises(RuntimeError), transaction.atomic():
        task_complete(task_id=task.id, response={"category": "red"})
        raise RuntimeError("rolled back")
    thread.join(timeout=10)

    assert answer["response"].json()["callbacks"] == []


def test_waits_beyond_the_accounts_cap_are_refused_with_429_and_retry_after(settings, customer, account):
    from tests.waiting import wait_until

    settings.CALLBACK_FEED_WAITS_PER_ACCOUNT = 1
    thread, answer = _get_in_thread(customer, {"wait": 2})
    wait_until(lambda: _waiting_count(account.user.id) == 1, 10, "the request waits")

    refused = customer.get("/v1/callbacks", {"wait": 2})
    at_once = customer.get("/v1/callbacks")  # without wait: answered as ever
    thread.join(timeout=10)

    assert refused.status_code == 429
    assert refused["Retry-After"] == "1"
    assert "wait on the callback feed" in refused.json()["error"]
    assert at_once.status_code == 200
    assert answer["response"].status_code == 200  # the one waiting was answered as ever


def test_waits_beyond_the_process_cap_are_refused_whoever_asks(
    settings, api, customer, account, other_account
):
    from tests.waiting import wait_until

    settings.CALLBACK_FEED_WAITS = 1
    thread, answer = _get_in_thread(customer, {"wait": 2})
    wait_until(lambda: _waiting_count(account.user.id) == 1, 10, "the request waits")

    refused = api.as_key(other_account.live_api_key).get("/v1/callbacks", {"wait": 2})
    thread.join(timeout=10)

    assert refused.status_code == 429
    assert answer["response"].status_code == 200
    assert feed_hub._count == 0  # every slot given back


def test_the_admin_lists_a_not_sent_event_as_not_sent(admin_client, account):
    from django.urls import reverse

    _complete(account.user)

    page = admin_client.get(reverse("admin:callbacks_app_delivery_changelist")).content.decode()

    assert "Not sent (no target)" in page


def test_events_leave_the_feed_with_the_retention_of_finished_deliveries(account):
    from datetime import timedelta

    from django.utils import timezone

    from callbacks_app.services import deliveries_prune

    old, recent = _complete(account.user), _complete(account.user)
    Delivery.objects.filter(task_id=old).update(finished_at=timezone.now() - timedelta(days=31))

    deliveries_prune(older_than=timezone.now() - timedelta(days=30))
    rows = feed_page(owner_id=account.user.id, is_test=False, after=None, limit=10).events

    assert [row["task_id"] for row in rows] == [recent]
