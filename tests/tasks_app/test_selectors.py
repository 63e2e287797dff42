"""``GET /v1/tasks``: filters and cursor pagination (SPEC §4)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tasks_app import services
from tasks_app.models import Task

pytestmark = pytest.mark.django_db


def ids(answer) -> list[str]:
    assert answer.status_code == 200, answer.json()
    return [doc["task_id"] for doc in answer.json()["docs"]]


def all_pages(client, **query) -> list[dict]:
    """Every page's body, following next_token."""
    pages, token = [], None
    while True:
        answer = client.get("/v1/tasks", {**query, **({"next_token": token} if token else {})})
        assert answer.status_code == 200, answer.json()
        pages.append(answer.json())
        token = answer.json()["next_token"]
        if not answer.json()["has_more"]:
            return pages


def test_list_returns_the_callers_tasks_newest_first_with_the_client_shape(customer, create_task):
    first, second = create_task()["task_id"], create_task()["task_id"]

    answer = customer.get("/v1/tasks")

    body = answer.json()
    assert ids(answer) == [second, first]
    assert body["total"] == 2
    assert body["limit"] == 100
    assert body["offset"] == 0
    assert body["has_more"] is False
    assert body["next_token"] is None
    assert body["docs"][0]["status"] == "pending"


def test_pages_cover_every_task_once_in_order(customer, create_task):
    created = [create_task()["task_id"] for _ in range(7)]

    pages = all_pages(customer, limit=3)

    assert [len(p["docs"]) for p in pages] == [3, 3, 1]
    assert [p["offset"] for p in pages] == [0, 3, 6]
    assert all(p["total"] == 7 for p in pages)
    assert [d["task_id"] for p in pages for d in p["docs"]] == created[::-1]


def test_tasks_created_while_paging_neither_shift_nor_repeat_pages(customer, create_task):
    # given 6 tasks and a first page of 3
    created = [create_task()["task_id"] for _ in range(6)]
    first = customer.get("/v1/tasks", {"limit": 3}).json()

    # when new tasks are created before the next page is read
    for _ in range(4):
        create_task()
    second = customer.get("/v1/tasks", {"limit": 3, "next_token": first["next_token"]}).json()

    # then the next page continues exactly where the first stopped
    seen = [d["task_id"] for d in first["docs"] + second["docs"]]
    assert seen == created[::-1]
    assert second["has_more"] is False


def test_tasks_with_the_same_created_at_are_paged_by_id(account, customer, create_task):
    created = [create_task()["task_id"] for _ in range(5)]
    same_time = timezone.now() - timedelta(days=1)
    Task.objects.filter(id__in=created).update(created_at=same_time)

    pages = all_pages(customer, limit=2)

    assert [d["task_id"] for p in pages for d in p["docs"]] == sorted(created, reverse=True)


@pytest.mark.parametrize(
    "query",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": "x"},
        {"next_token": "garbage"},
        {"status": "done"},
        {"start_time": "yesterday"},
        {"customer_review_status": "great"},
    ],
)
def test_invalid_list_query_is_a_400(customer, query):
    answer = customer.get("/v1/tasks", query)

    assert answer.status_code == 400
    assert answer.json()["status_code"] == 400


def test_filter_by_status_and_type(customer, create_task):
    pending = create_task()["task_id"]
    canceled = create_task()["task_id"]
    customer.post(f"/v1/task/{canceled}/cancel")

    assert ids(customer.get("/v1/tasks", {"status": "canceled"})) == [canceled]
    assert ids(customer.get("/v1/tasks", {"status": "pending", "type": "categorization"})) == [pending]
    assert ids(customer.get("/v1/tasks", {"type": "textcollection"})) == []


def test_filter_by_project_and_batch(customer, create_task, create_batch):
    create_batch("p1", "b1"), create_batch("p1", "b2"), create_batch("p2", "b3")
    a = create_task(project="p1", batch="b1")["task_id"]
    create_task(project="p1", batch="b2")
    create_task(project="p2", batch="b3")
    create_task(project="p1")

    answer = customer.get("/v1/tasks", {"project": "p1", "batch": "b1"})

    assert ids(answer) == [a]
    assert answer.json()["total"] == 1


def test_filter_by_several_unique_ids(customer, create_task):
    a = create_task(unique_id="a")["task_id"]
    b = create_task(unique_id="b")["task_id"]
    create_task(unique_id="c")

    assert ids(customer.get("/v1/tasks", {"unique_id": ["a", "b"]})) == [b, a]


def test_filter_by_tags_needs_every_tag(customer, create_task):
    both = create_task(tags=["red", "urgent"])["task_id"]
    create_task(tags=["red"])

    assert ids(customer.get("/v1/tasks", {"tags": ["red", "urgent"]})) == [both]
    assert len(ids(customer.get("/v1/tasks", {"tags": "red"}))) == 2


def test_filter_by_customer_review_status_comma_list(account, customer, create_task):
    accepted, rejected, unreviewed = (create_task()["task_id"] for _ in range(3))
    for task_id in (accepted, rejected, unreviewed):
        services.task_complete(task_id=task_id, response={"category": "red"})
    services.task_audit(task_id=accepted, accepted=True)
    services.task_audit(task_id=rejected, accepted=False)

    assert ids(customer.get("/v1/tasks", {"customer_review_status": "accepted,rejected"})) == [
        rejected,
        accepted,
    ]
    assert ids(customer.get("/v1/tasks", {"customer_review_status": "pending"})) == [unreviewed]


def test_filter_by_created_time_range(customer, create_task):
    old = create_task()["task_id"]
    Task.objects.filter(id=old).update(created_at=timezone.now() - timedelta(days=3))
    new = create_task()["task_id"]
    two_days_ago = (timezone.now() - timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S.%f")

    assert ids(customer.get("/v1/tasks", {"start_time": two_days_ago})) == [new]
    assert ids(customer.get("/v1/tasks", {"end_time": two_days_ago})) == [old]


def test_filter_by_completed_and_updated_times(customer, create_task):
    done = create_task()["task_id"]
    create_task()
    services.task_complete(task_id=done, response={"category": "red"})
    hour_ago = (timezone.now() - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    in_an_hour = (timezone.now() + timedelta(hours=1)).isoformat().replace("+00:00", "Z")

    assert ids(customer.get("/v1/tasks", {"completed_after": hour_ago})) == [done]
    assert ids(customer.get("/v1/tasks", {"completed_before": in_an_hour})) == [done]
    assert len(ids(customer.get("/v1/tasks", {"updated_after": hour_ago}))) == 2
    assert ids(customer.get("/v1/tasks", {"updated_before": hour_ago})) == []


def test_total_counts_the_filtered_set_not_the_page(customer, create_task, create_project):
    create_project("p"), create_project("q")
    for _ in range(3):
        create_task(project="p")
    create_task(project="q")

    body = customer.get("/v1/tasks", {"project": "p", "limit": 1}).json()

    assert body["total"] == 3
    assert len(body["docs"]) == 1
    assert body["has_more"] is True


def test_live_and_test_keys_list_only_their_own_mode(customer, customer_test_mode, create_task):
    live = create_task()["task_id"]
    test = create_task(client=customer_test_mode)["task_id"]

    assert ids(customer.get("/v1/tasks")) == [live]
    assert ids(customer_test_mode.get("/v1/tasks")) == [test]


def test_list_never_shows_another_accounts_tasks(api, other_account, create_task):
    create_task()

    answer = api.as_key(other_account.live_api_key).get("/v1/tasks")

    assert ids(answer) == []
    assert answer.json()["total"] == 0


def test_the_total_without_a_filter_counts_every_write_and_delete_of_tasks(account, other_account, customer):
    """Without a filter, ``total`` is read from ``TaskCount``, which the database's triggers
    keep: tasks made by the service, by a bulk insert and by SQL, and deleted one by one or by a
    queryset, each in its account and mode."""
    from django.db import connection

    from tasks_app.models import TaskCount
    from tests.factories import TaskFactory

    owner = account.profile.user

    def total() -> int:
        return customer.get("/v1/tasks", {"limit": 1}).json()["total"]

    assert total() == 0
    TaskFactory.create_batch(3, owner=owner)
    Task.objects.bulk_create([Task(owner=owner, type="categorization", params={}) for _ in range(4)])
    TaskFactory.create_batch(2, owner=owner, is_test=True)
    TaskFactory.create_batch(5, owner=other_account.profile.user)
    with connection.cursor() as cursor:  # a copy of one task under a new id, by SQL
        columns = ", ".join(f'"{f.column}"' for f in Task._meta.concrete_fields if f.column != "id")
        cursor.execute(
            f"INSERT INTO tasks_app_task (id, {columns}) SELECT 'f0f0f0f0f0f0f0f0f0f0f0f0', {columns} "
            "FROM tasks_app_task WHERE owner_id = %s AND NOT is_test LIMIT 1",
            [owner.pk],
        )
    assert total() == 8 == Task.objects.filter(owner=owner, is_test=False).count()

    Task.objects.filter(owner=owner, is_test=False).order_by("created_at")[0].delete()
    Task.objects.filter(owner=owner, is_test=False, type="categorization", params={}).delete()

    left = Task.objects.filter(owner=owner, is_test=False).count()
    assert left in (2, 3)  # the SQL copy was of a bulk task or not
    assert total() == left
    assert customer.get("/v1/tasks", {"status": "pending"}).json()["total"] == left  # a filter: counted
    assert TaskCount.objects.get(owner=owner, is_test=True).tasks == 2
    assert TaskCount.objects.get(owner=other_account.profile.user, is_test=False).tasks == 5
