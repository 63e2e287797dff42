"""The portal shows the callback feed (SPEC §17): its URL and a ready curl line for the
session's side, and the events of tasks without a target as "not sent (no target)"."""

import pytest

from tasks_app.services import task_complete
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/portal/settings", "/portal/callbacks"])
def test_the_feed_url_and_a_curl_line_for_the_sides_key(portal, path):
    page = portal.get(path).content.decode()

    assert 'id="feed-url">http://testserver/v1/callbacks</code>' in page
    assert "curl -u TEST_API_KEY: 'http://testserver/v1/callbacks?limit=100&amp;wait=30'" in page


def test_a_not_sent_event_is_listed_as_not_sent(portal, account):
    task = TaskFactory(owner=account.user, is_test=True, callback_url="")
    task_complete(task_id=task.id, response={"category": "red"})

    page = portal.get("/portal/callbacks").content.decode()

    assert "not sent (no target)" in page
