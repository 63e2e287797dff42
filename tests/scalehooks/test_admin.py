"""The admin site as a whole: staff only, django-q2's admin kept, the dashboard in it."""

import pytest
from django.conf import settings
from django.urls import reverse

from tests.factories import DeliveryFactory


def admin_urls(delivery):
    task_id = delivery.task_id
    return [
        reverse("admin:index"),
        reverse("admin:dashboard"),
        reverse("admin:tasks_app_task_changelist"),
        reverse("admin:tasks_app_task_change", args=[task_id]),
        reverse("admin:tasks_app_task_complete", args=[task_id]),
        reverse("admin:tasks_app_task_resend", args=[task_id]),
        reverse("admin:tasks_app_profile_changelist"),
        reverse("admin:callbacks_app_delivery_changelist"),
        reverse("admin:callbacks_app_delivery_change", args=[delivery.id]),
        reverse("admin:callbacks_app_delivery_resend", args=[delivery.id]),
        reverse("admin:callbacks_app_faileddelivery_changelist"),
        reverse("admin:django_q_schedule_changelist"),
        reverse("admin:django_q_failure_changelist"),
    ]


@pytest.mark.django_db
def test_a_non_staff_account_cannot_open_any_admin_page(client, account):
    delivery = DeliveryFactory(status="failed")
    client.force_login(account.user)  # a customer: authenticated, not staff

    answers = {url: client.get(url) for url in admin_urls(delivery)}
    posts = {url: client.post(url) for url in admin_urls(delivery)}

    for url, response in [*answers.items(), *posts.items()]:
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url
    assert DeliveryFactory._meta.model.objects.count() == 1  # no POST resent anything


@pytest.mark.django_db
def test_an_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get(reverse("admin:dashboard"))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('admin:login')}?next={reverse('admin:dashboard')}"


# django-q2 shows its queue ("Queued tasks") only with the ORM broker; with Redis it has none.
DJANGO_Q_MODELS = ["schedule", "success", "failure"] + (["ormq"] if "orm" in settings.Q_CLUSTER else [])


@pytest.mark.django_db
@pytest.mark.parametrize("model", DJANGO_Q_MODELS)
def test_django_q2_admin_stays_available(admin_client, model):
    assert admin_client.get(reverse(f"admin:django_q_{model}_changelist")).status_code == 200
