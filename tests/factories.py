import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from tasks_app.models import Task


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"customer{n}@example.com")
    email = factory.SelfAttribute("username")


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    owner = factory.SubFactory(UserFactory)
    type = "categorization"
    instruction = "Is this object red or blue?"
    params = factory.LazyFunction(
        lambda: {
            "attachment_type": "text",
            "attachment": "tomato",
            "categories": ["red", "blue"],
            "allow_multiple": False,
        }
    )


class DeliveryFactory(factory.django.DjangoModelFactory):
    """A delivery row as the ledger holds it (the dashboard and admin tests read these)."""

    class Meta:
        model = "callbacks_app.Delivery"

    task = factory.SubFactory(TaskFactory, status=Task.Status.COMPLETED)
    event = "task.completed"
    target = "http://127.0.0.1:9/callback"
    payload = '{"task_id":"x"}'
    status = "succeeded"


class DeliveryAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "callbacks_app.DeliveryAttempt"

    delivery = factory.SubFactory(DeliveryFactory)
    number = factory.Sequence(lambda n: n + 1)
    started_at = factory.LazyFunction(timezone.now)
    duration_ms = 10
    status_code = 200
    succeeded = True
