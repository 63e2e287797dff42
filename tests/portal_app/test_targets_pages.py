"""The portal's target health page (SPEC §16): the side's targets with their figures, the
failing ones on the overview, pause and resume through the API's service."""

import pytest
from django.utils import timezone

from callbacks_app.models import TargetHealth

pytestmark = pytest.mark.django_db


def target(account, *, mode="test", origin="https://hooks.example.com:443", **fields):
    return TargetHealth.objects.create(owner=account.user, mode=mode, origin=origin, **fields)


def failing(account, **fields):
    return target(
        account,
        state=TargetHealth.State.FAILING,
        consecutive_failures=23,
        failing_since=timezone.now(),
        last_error_at=timezone.now(),
        last_error_class="5xx",
        last_status_code=503,
        last_excerpt="upstream down",
        **fields,
    )


def test_the_targets_page_lists_the_sides_targets_with_the_last_error(portal, account):
    failing(account)
    target(account, origin="https://fine.example.com:443")
    target(account, mode="live", origin="https://live-only.example.com:443")
    page = portal.get("/portal/targets").content.decode()
    assert "https://hooks.example.com:443" in page and "https://fine.example.com:443" in page
    assert "5xx 503: upstream down" in page
    assert "live-only" not in page
    assert page.index("hooks.example.com") < page.index("fine.example.com")  # failing first


def test_without_any_attempt_the_page_says_when_targets_appear(portal):
    assert "targets appear here after their first attempt" in portal.get("/portal/targets").content.decode()


def test_the_overview_names_the_failing_targets_of_its_side_only(portal, portal_live, account):
    assert 'id="no-failing"' in portal.get("/portal/").content.decode()
    failing(account)
    target(account, mode="live", origin="https://live-fine.example.com:443")
    overview = portal.get("/portal/").content.decode()
    assert 'id="failing-targets"' in overview and "https://hooks.example.com:443" in overview
    live = portal_live.get("/portal/").content.decode()
    assert 'id="no-failing"' in live and "hooks.example.com" not in live


def test_pause_then_resume_from_the_page(portal, account):
    found = target(account)
    answer = portal.post(f"/portal/targets/{found.id}/pause")
    assert answer.status_code == 302 and answer["Location"] == "/portal/targets"
    found.refresh_from_db()
    assert found.state == TargetHealth.State.PAUSED and found.paused_by == "account"
    assert "Resume" in portal.get("/portal/targets").content.decode()
    portal.post(f"/portal/targets/{found.id}/resume")
    found.refresh_from_db()
    assert found.state != TargetHealth.State.PAUSED


def test_pausing_is_a_post(portal, account):
    found = target(account)
    assert portal.get(f"/portal/targets/{found.id}/pause").status_code == 405
    found.refresh_from_db()
    assert found.state == TargetHealth.State.HEALTHY


def test_the_success_rate_says_what_it_counts_and_never_rounds_up_to_100(portal, account):
    from callbacks_app import health
    from callbacks_app.models import TargetHealthSlot

    found = failing(account)
    TargetHealthSlot.objects.create(
        health=found, start=health.slot_of(timezone.now()), attempts=2000, succeeded=1999
    )

    page = " ".join(portal.get("/portal/targets").content.decode().split())

    assert "99.9 %</span> <small>(1999 of 2000)</small>" in page
    assert "100 %" not in page and "100.0 %" not in page
