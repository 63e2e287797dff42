"""Attachment download at creation (SPEC §5): the job, against real HTTP servers."""

import logging

import pytest

from callbacks_app.models import Delivery
from tasks_app import jobs
from tasks_app.models import Task
from tasks_app.services import ATTACHMENT_ERROR
from tests.conftest import deliver_until_finished
from tests.servers import Answer
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db


def image_task(client, url: str, callback_url: str) -> dict:
    body = {
        "instruction": "What is in the picture?",
        "attachment_type": "image",
        "attachment": url,
        "categories": ["cat", "dog"],
        "callback_url": callback_url,
    }
    answer = client.post("/v1/task/categorization", body, format="json")
    assert answer.status_code == 200, answer.json()
    return answer.json()


def test_unreachable_attachment_turns_the_task_to_error_with_the_documented_response(customer, file_server):
    missing = file_server.url("/missing.jpg")
    task_id = image_task(customer, missing, "")["task_id"]

    jobs.task_attachments_check(task_id)

    task = customer.get(f"/v1/task/{task_id}").json()
    assert task["status"] == "error"
    assert task["response"] == {
        "error": ATTACHMENT_ERROR,
        "attachments": [{"statusCode": 404, "url": missing}],
    }
    assert [r.path for r in file_server.requests] == ["/missing.jpg"]


def test_unreachable_attachment_sends_the_error_callback(customer, file_server, receiver):
    missing = file_server.url("/missing.jpg")
    task_id = image_task(customer, missing, receiver.url)["task_id"]

    jobs.task_attachments_check(task_id)

    delivery = Delivery.objects.get(task_id=task_id)
    assert delivery.event == Delivery.Event.ERROR
    assert deliver_until_finished(delivery.id).status == Delivery.Status.SUCCEEDED
    (request,) = receiver.requests
    body = request.json()
    assert body["status"] == "error"
    assert body["response"]["error"] == ATTACHMENT_ERROR
    assert body["response"]["attachments"] == [{"statusCode": 404, "url": missing}]
    assert body["task"]["status"] == "error"


def test_downloadable_attachment_leaves_the_task_pending(customer, file_server, receiver):
    found = file_server.serve("/cat.jpg", Answer(200, b"\xff\xd8 a jpeg"))
    task_id = image_task(customer, found, receiver.url)["task_id"]

    jobs.task_attachments_check(task_id)

    assert Task.objects.get(id=task_id).status == "pending"
    assert not Delivery.objects.filter(task_id=task_id).exists()
    assert [r.path for r in file_server.requests] == ["/cat.jpg"]


def test_a_redirect_is_not_followed_and_counts_as_a_failure(customer, file_server):
    target = file_server.serve("/real.jpg", Answer(200, b"jpeg"))
    moved = file_server.serve("/moved.jpg", Answer(302, b"", headers={"Location": target}))
    task_id = image_task(customer, moved, "")["task_id"]

    jobs.task_attachments_check(task_id)

    task = Task.objects.get(id=task_id)
    assert task.response["attachments"] == [{"statusCode": 302, "url": moved}]
    assert [r.path for r in file_server.requests] == ["/moved.jpg"]


def test_a_refused_address_is_a_failure_without_status_code(customer, settings):
    # given a task saved while loopback was allowed, and loopback no longer an
    # allowed network (the production default): a literal forbidden address is
    # refused at save time, so only a change of the setting leads here
    url = "http://127.0.0.1:9/secret.jpg"
    task_id = image_task(customer, url, "")["task_id"]
    settings.CALLBACK_ALLOWED_NETWORKS = []

    jobs.task_attachments_check(task_id)

    task = Task.objects.get(id=task_id)
    assert task.status == "error"
    assert task.response["attachments"] == [{"statusCode": None, "url": url}]


def test_a_task_canceled_before_the_download_is_left_alone(customer, file_server):
    task_id = image_task(customer, file_server.url("/missing.jpg"), "")["task_id"]
    customer.post(f"/v1/task/{task_id}/cancel")

    jobs.task_attachments_check(task_id)

    assert Task.objects.get(id=task_id).status == "canceled"
    assert file_server.requests == []


def test_text_attachments_queue_no_download(customer, django_capture_on_commit_callbacks):
    body = {"attachment_type": "text", "attachment": "tomato", "categories": ["red", "blue"]}

    with django_capture_on_commit_callbacks() as callbacks:
        customer.post("/v1/task/categorization", body, format="json")

    assert callbacks == []


@pytest.mark.cluster
@pytest.mark.django_db(transaction=True)
def test_created_task_with_a_missing_attachment_reaches_the_receiver_as_an_error(
    start_cluster, customer, file_server, receiver
):
    # given a running cluster
    start_cluster()
    missing = file_server.url("/gone.png")

    # when a task is created with an attachment that answers 404
    task_id = image_task(customer, missing, receiver.url)["task_id"]

    # then the cluster downloads it, fails the task and sends the error callback
    (request,) = receiver.wait_for(1, timeout=30)
    assert request.json()["task_id"] == task_id
    assert request.json()["status"] == "error"
    assert request.json()["response"]["attachments"] == [{"statusCode": 404, "url": missing}]
    wait_until(
        lambda: Task.objects.get(id=task_id).callback_succeeded is not None,
        5,
        "the task's callback outcome was not recorded",
    )
    assert Task.objects.get(id=task_id).callback_succeeded is True


def test_a_refused_attachment_is_logged_with_the_reason(customer, settings, caplog):
    # given an attachment at an address that is no longer allowed
    url = "http://127.0.0.1:9/secret.jpg"
    task_id = image_task(customer, url, "")["task_id"]
    settings.CALLBACK_ALLOWED_NETWORKS = []
    caplog.set_level(logging.INFO, logger="tasks_app.services")

    jobs.task_attachments_check(task_id)

    # then the log says why, not just the name of an exception
    [line] = [r.getMessage() for r in caplog.records if "could not be downloaded" in r.getMessage()]
    assert line.endswith(
        ": Refused: 127.0.0.1 resolves to 127.0.0.1, a forbidden address (not downloaded)"
    ), line
