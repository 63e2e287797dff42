"""The portal's overview and the admin's dashboard when a receiver that worked starts failing
(issue 26, acceptance 2): failures stand beside every success rate, no headline reads 100 %."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from callbacks_app.engine import callback_deliver
from callbacks_app.models import Delivery
from tasks_app.services import task_complete
from tests.conftest import deliver_until_finished
from tests.factories import TaskFactory
from tests.portal_app.conftest import signed_in
from tests.servers import Answer
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def receiver_that_answered_200_three_times_then_fails(account, receiver, settings):
    """Three callbacks delivered (200), then two whose attempts fail (500) and that retry."""
    settings.CALLBACK_RETRY_SCHEDULE = [0.2] * 20
    receiver.answer(Answer(200), Answer(200), Answer(200), Answer(500, b"upstream down"))
    for _ in range(3):
        task = TaskFactory(owner=account.user, callback_url=receiver.url)
        task_complete(task_id=task.id, response={"category": "red"})
        assert deliver_until_finished(Delivery.objects.get(task=task).id).status == "succeeded"
    retrying = []
    for _ in range(2):
        task = TaskFactory(owner=account.user, callback_url=receiver.url)
        task_complete(task_id=task.id, response={"category": "red"})
        retrying.append(Delivery.objects.get(task=task).id)
    for delivery_id in retrying:  # two failed attempts each
        for _ in range(2):
            wait_until(lambda d=delivery_id: callback_deliver(delivery_id=d), 10, "no attempt fell due")
    assert [Delivery.objects.get(id=d).status for d in retrying] == ["pending", "pending"]
    return retrying


def headline_figures(html: str, css_class: str) -> list[str]:
    return [" ".join(f.split()) for f in re.findall(rf'<[^>]*class="{css_class}[^"]*"[^>]*>([^<]*)<', html)]


def test_the_portal_overview_shows_the_failures_and_no_100_percent(
    receiver_that_answered_200_three_times_then_fails, account
):
    portal = signed_in(Client(), user=account.user, account=account.profile, mode="live")

    html = " ".join(portal.get("/portal/").content.decode().split())

    figures = headline_figures(html, "figure")
    assert figures, html
    assert not [f for f in figures if f.startswith("100")], figures
    assert "60.0 %" in figures  # 3 delivered of the 5 that finished or are retrying
    assert re.search(r'id="figure-retrying">[^<]*<span class="figure[^"]*">2<', html), html
    assert "4 of 7 attempts failed" in html  # 3 succeeded, 4 failed
    assert "HTTP 500" in html.split('id="figure-last-error"')[1][:800]


def test_the_dashboard_shows_the_failures_and_no_100_percent(
    receiver_that_answered_200_three_times_then_fails, admin_client
):
    html = " ".join(admin_client.get(reverse("admin:dashboard"), {"window": "1h"}).content.decode().split())

    figures = headline_figures(html, "sh-figure")
    assert not [f for f in figures if f.startswith("100")], figures
    assert "60.0 %" in figures
    assert "3 of 5 deliveries that finished or are retrying: 0 failed, 2 retrying" in html
    assert "3 of 7 attempts: 4 failed" in html
    assert "HTTP 500" in html.split('id="figure-last-error"')[1][:800]
