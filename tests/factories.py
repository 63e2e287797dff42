import factory
from django.contrib.auth import get_user_model

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
