"""The callback targets in the admin (SPEC §16), in a real browser: the dashboard's banner,
the target list with its filters, and pausing a target from it."""

import pytest

from callbacks_app.models import TargetHealth
from tasks_app.accounts import account_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def targets(db):
    alice = account_create(email="alice@example.com").profile.user
    bob = account_create(email="bob@example.com").profile.user
    return [
        TargetHealth.objects.create(
            owner=alice,
            mode="live",
            origin="https://hooks.alice.example:443",
            state="failing",
            consecutive_failures=25,
            last_error_class="5xx",
            last_status_code=503,
        ),
        TargetHealth.objects.create(owner=alice, mode="test", origin="https://test.alice.example:443"),
        TargetHealth.objects.create(owner=bob, mode="live", origin="https://bob.example:443"),
    ]


def test_the_dashboard_banner_names_the_failing_targets_and_links_to_them(staff_page, live_server, targets):
    staff_page.goto(f"{live_server.url}/admin/dashboard/")

    banner = staff_page.locator("#targets-banner")
    assert "1 callback target failing" in banner.inner_text()
    banner.get_by_role("link", name="See the failing targets").click()
    staff_page.wait_for_url("**/targethealth/?state__exact=failing")

    rows = staff_page.locator("#result_list tbody tr")
    assert rows.count() == 1
    assert "https://hooks.alice.example:443" in rows.first.inner_text()
    assert "503" in rows.first.inner_text()


def test_no_banner_when_every_target_is_healthy(staff_page, live_server, targets):
    TargetHealth.objects.update(state="healthy")

    staff_page.goto(f"{live_server.url}/admin/dashboard/")

    assert staff_page.locator("#targets-banner").count() == 0
    assert staff_page.locator("#figure-total").is_visible()


def test_the_target_list_filters_by_mode_and_account(staff_page, live_server, targets):
    staff_page.goto(f"{live_server.url}/admin/callbacks_app/targethealth/")
    assert staff_page.locator("#result_list tbody tr").count() == 3

    staff_page.locator("#changelist-filter").get_by_role("link", name="test", exact=True).click()
    staff_page.wait_for_url("**/targethealth/?mode=test")
    assert staff_page.locator("#result_list tbody tr").count() == 1
    assert "test.alice.example" in staff_page.locator("#result_list tbody").inner_text()

    staff_page.goto(
        f"{live_server.url}/admin/callbacks_app/targethealth/?owner__id__exact={targets[2].owner_id}"
    )
    assert staff_page.locator("#result_list tbody tr").count() == 1
    assert "bob.example" in staff_page.locator("#result_list tbody").inner_text()


def test_an_operator_pauses_then_resumes_a_target_from_the_list(staff_page, live_server, targets):
    failing = targets[0]
    staff_page.goto(f"{live_server.url}/admin/callbacks_app/targethealth/")

    staff_page.locator(f"input[name=_selected_action][value='{failing.id}']").check()
    staff_page.select_option("select[name=action]", "pause_targets")
    staff_page.click("button[name=index]")

    assert "1 callback target(s) paused" in staff_page.locator(".messagelist").inner_text()
    failing.refresh_from_db()
    assert failing.state == "paused"
    assert failing.paused_by == "operator ops@example.com"

    staff_page.locator(f"input[name=_selected_action][value='{failing.id}']").check()
    staff_page.select_option("select[name=action]", "resume_targets")
    staff_page.click("button[name=index]")

    failing.refresh_from_db()
    assert failing.state == "failing"  # its failures still count: it is failing, not paused
