"""The portal in a real browser (SPEC §14): times in UTC with the viewer's own zone beside them,
and an overview that shows failures beside its rates (issue 26 items 2 and 3)."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from callbacks_app.models import DeliveryAttempt, TargetHealth
from portal_app.links import portal_link_create
from tests.factories import DeliveryFactory, TaskFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def paris_page(browser):
    """A browser whose clock reads Paris time (UTC+1 in January)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Europe/Paris")
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def sign_in_live(page, live_server, account):
    link = portal_link_create(user=account.user, account=account.profile, mode="live")
    page.goto(f"{live_server.url}{link.path}")
    page.click("#use-link")
    expect(page.locator("#side")).to_have_text("LIVE side")


def test_a_delivery_shows_each_time_in_utc_and_in_the_viewers_zone(
    paris_page, live_server, account, artifacts
):
    first = datetime(2026, 1, 2, 12, 0, 1, tzinfo=UTC)
    delivery = DeliveryFactory(task=TaskFactory(owner=account.user), status="failed", attempt_count=3)
    for number, after in enumerate((0, 10, 40), start=1):
        DeliveryAttempt.objects.create(
            delivery=delivery, number=number, started_at=first + timedelta(seconds=after), status_code=500
        )

    sign_in_live(paris_page, live_server, account)
    paris_page.goto(f"{live_server.url}/portal/callbacks/{delivery.id}")
    paris_page.screenshot(path=artifacts / "portal-delivery-local-times.png", full_page=True)

    started = [
        " ".join(t.split())
        for t in paris_page.locator("#attempts tr.attempt td:nth-child(2)").all_inner_texts()
    ]
    assert started == [
        "2026-01-02 12:00:01 UTC (2026-01-02 13:00:01 Europe/Paris)",
        "2026-01-02 12:00:11 UTC (2026-01-02 13:00:11 Europe/Paris)",
        "2026-01-02 12:00:41 UTC (2026-01-02 13:00:41 Europe/Paris)",
    ]


def test_the_overview_of_a_side_whose_receiver_fails_shows_it(page, live_server, account, artifacts):
    now = datetime.now(UTC)
    for _ in range(3):
        delivered = DeliveryFactory(task=TaskFactory(owner=account.user), status="succeeded", attempt_count=1)
        DeliveryAttempt.objects.create(
            delivery=delivered, number=1, started_at=now, status_code=200, succeeded=True
        )
    retrying = DeliveryFactory(
        task=TaskFactory(owner=account.user),
        status="pending",
        attempt_count=2,
        next_attempt_at=now + timedelta(minutes=1),
    )
    for number in (1, 2):
        DeliveryAttempt.objects.create(
            delivery=retrying, number=number, started_at=now, status_code=500, error="HTTP 500"
        )
    TargetHealth.objects.create(
        owner=account.user,
        mode="live",
        origin=retrying.target_origin,
        state="failing",
        consecutive_failures=2,
        last_error_at=now,
        last_status_code=500,
        last_error_class="5xx",
        last_error="HTTP 500",
        last_excerpt="upstream down",
    )

    sign_in_live(page, live_server, account)
    page.screenshot(path=artifacts / "portal-overview-retrying.png", full_page=True)

    assert page.locator("#figure-success-rate .figure").inner_text() == "75.0 %"
    assert page.locator("#figure-retrying .figure").inner_text() == "1"
    assert "HTTP 500" in page.locator("#figure-last-error").inner_text()
    assert "retrying after 2 failed attempts" in page.locator("#latest").inner_text()
