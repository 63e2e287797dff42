"""A target's origin (SPEC §16): what the per-origin caps count."""

import importlib

import pytest
from django.apps import apps

from callbacks_app.models import Delivery
from callbacks_app.services import callback_delivery_create
from callbacks_app.targets import target_origin
from tests.factories import DeliveryFactory, TaskFactory


@pytest.mark.parametrize(
    ("target", "origin"),
    [
        ("http://Hooks.Example.COM/a/b?x=1#f", "http://hooks.example.com:80"),
        ("https://hooks.example.com/a", "https://hooks.example.com:443"),
        ("https://hooks.example.com:8443/?q", "https://hooks.example.com:8443"),
        ("http://user:secret@hooks.example.com/", "http://hooks.example.com:80"),
        ("http://[::1]:9000/x", "http://[::1]:9000"),
        ("ops@Example.ORG", "example.org"),
        ("mailto:ops@mail.example.org", "mail.example.org"),
        ("http://hooks.example.com:notaport/", "http://hooks.example.com:notaport/"),
    ],
)
def test_the_origin_of_a_target(target, origin):
    assert target_origin(target) == origin


@pytest.mark.django_db
def test_a_delivery_names_its_targets_origin_when_created(account):
    task = TaskFactory(owner=account.user, callback_url="https://Hooks.example.com/cb?account=7")

    delivery = callback_delivery_create(task=task, event=Delivery.Event.COMPLETED, enqueue=False)

    assert Delivery.objects.get(id=delivery.id).target_origin == "https://hooks.example.com:443"


@pytest.mark.django_db
def test_the_migration_fills_the_origin_of_existing_deliveries(account):
    rows = [DeliveryFactory(target=f"http://hooks{i % 3}.example.com/cb?n={i}") for i in range(5)]
    rows.append(DeliveryFactory(target="mailto:ops@example.org"))
    Delivery.objects.update(target_origin="")
    migration = importlib.import_module("callbacks_app.migrations.0009_delivery_target_origin")

    migration.fill_target_origin(apps, None)

    assert dict(Delivery.objects.values_list("id", "target_origin")) == {
        **{d.id: f"http://hooks{i % 3}.example.com:80" for i, d in enumerate(rows[:5])},
        rows[5].id: "example.org",
    }
