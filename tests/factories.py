from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from tasks_app.models import Task


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"customer{n}@example.com")
    email = factory.SelfAttribute("username")


class MembershipFactory(factory.django.DjangoModelFactory):
    """A teammate who accepted the account's invitation (``tasks_app.invitations``), made directly:
    a user without a usable password, a member of ``account`` with ``role``. ``email=`` names the
    user: ``MembershipFactory(account=profile, email="mate@example.com", role="admin")``."""

    class Meta:
        model = "tasks_app.Membership"
        exclude = ("email",)

    email = factory.Sequence(lambda n: f"mate{n}@example.com")
    user = factory.SubFactory(
        UserFactory,
        username=factory.SelfAttribute("..email"),
        password=factory.LazyFunction(lambda: make_password(None)),
    )
    role = "member"
    accepted_at = factory.LazyFunction(timezone.now)


def teammate_create(*, account, email: str = "mate@example.com", role: str = "member", **fields):
    """An accepted teammate of ``account`` (a ``Profile``): its user."""
    return MembershipFactory(account=account, email=email, role=role, **fields).user


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
    """A delivery row as the ledger holds it (a succeeded one unless told otherwise).

    Traits: ``pending=True`` (not yet finished), ``due=True`` (pending and due
    a second ago), ``attempted=True`` (with one stored attempt, number 1, that got no answer).
    ``created_at=`` backdates the row, which the model stamps on insert.
    """

    class Meta:
        model = "callbacks_app.Delivery"
        skip_postgeneration_save = True  # the attempt of ``attempted`` needs no second save

    class Params:
        pending = factory.Trait(status="pending")
        due = factory.Trait(
            status="pending",
            next_attempt_at=factory.LazyFunction(lambda: timezone.now() - timedelta(seconds=1)),
        )
        attempted = factory.Trait(
            first_attempt=factory.RelatedFactory(
                "tests.factories.DeliveryAttemptFactory",
                factory_related_name="delivery",
                number=1,
                started_at=factory.LazyFunction(timezone.now),
                duration_ms=0,
                status_code=None,
                succeeded=False,
            )
        )

    task = factory.SubFactory(TaskFactory, status=Task.Status.COMPLETED)
    event = "task.completed"
    target = "http://127.0.0.1:9/callback"
    payload = '{"task_id":"x"}'
    status = "succeeded"

    @classmethod
    def _create(cls, model_class, *args, created_at=None, **kwargs):
        delivery = super()._create(model_class, *args, **kwargs)
        if created_at is not None:
            model_class.objects.filter(pk=delivery.pk).update(created_at=created_at)
            delivery.created_at = created_at
        return delivery


class DeliveryAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "callbacks_app.DeliveryAttempt"

    delivery = factory.SubFactory(DeliveryFactory)
    number = factory.Sequence(lambda n: n + 1)
    started_at = factory.LazyFunction(timezone.now)
    duration_ms = 10
    status_code = 200
    succeeded = True


class EmailConfirmationFactory(factory.django.DjangoModelFactory):
    """An email address an account confirmed (callbacks_app.confirmations): its callbacks go out."""

    class Meta:
        model = "callbacks_app.EmailConfirmation"
        django_get_or_create = ("owner", "address")

    owner = factory.SubFactory(UserFactory)
    address = "results@customer.example"
    confirmed_at = factory.LazyFunction(timezone.now)
