import pytest

from callbacks_app.models import Delivery
from callbacks_app.services import callback_resend
from tasks_app.errors import NoCallbackTarget, TaskStateConflict
from tasks_app.services import task_complete
from tests.conftest import deliver_until_finished
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_callback_resend_sends_the_task_as_it_is_now(account, receiver):
    task = TaskFactory(owner=account[0].user, callback_url=receiver.url)
    task_complete(task_id=task.id, response={"category": "red"})
    deliver_until_finished(Delivery.objects.get(task=task).id)
    task.refresh_from_db()
    task.metadata = {"after": "completion"}
    task.save()

    delivery = callback_resend(task_id=task.id)
    deliver_until_finished(delivery.id)

    assert delivery.event == "task.resent"
    assert receiver.requests[-1].json()["task"]["metadata"] == {"after": "completion"}
    assert receiver.requests[-1].header("webhook-id") == delivery.id


def test_callback_resend_supersedes_a_pending_retry(account, receiver):
    task = TaskFactory(owner=account[0].user, callback_url=receiver.url)
    task_complete(task_id=task.id, response={"category": "red"})
    first = Delivery.objects.get(task=task)

    second = callback_resend(task_id=task.id)

    first.refresh_from_db()
    assert first.status == Delivery.Status.SUPERSEDED
    assert list(task.deliveries.filter(status=Delivery.Status.PENDING)) == [second]


def test_callback_resend_of_a_pending_task_is_a_conflict(account, receiver):
    task = TaskFactory(owner=account[0].user, callback_url=receiver.url)

    with pytest.raises(TaskStateConflict):
        callback_resend(task_id=task.id)
    assert not Delivery.objects.exists()


def test_callback_resend_without_a_target_is_refused(account):
    task = TaskFactory(owner=account[0].user, callback_url="")
    task_complete(task_id=task.id, response={"category": "red"})

    with pytest.raises(NoCallbackTarget):
        callback_resend(task_id=task.id)
