"""The partials the portal includes (SPEC §15): ✓/✗ and reasons, escaped, secrets masked."""

import pytest
from django.template.loader import render_to_string

from inbox_app.models import CapturedRequest
from inbox_app.selectors import inbox_requests, inbox_timing

pytestmark = pytest.mark.django_db


def test_the_list_shows_each_check_and_the_reasons(client, account, inbox, capture_path):
    client.post(
        capture_path + "/cb",
        b"{}",
        content_type="application/json",
        HTTP_SCALE_CALLBACK_AUTH=account.profile.live_callback_auth_key,
    )

    html = render_to_string(
        "inbox/_requests.html", {"requests": inbox_requests(inbox=inbox), "request_href": "/portal/r/"}
    )

    assert "✓ live key" in html
    assert "✗ does not verify" in html
    assert "webhook-timestamp is missing" in html
    assert f'href="/portal/r/{CapturedRequest.objects.get().id}"' in html


def test_one_request_shows_headers_body_and_panel_escaped_and_masked(client, account, inbox, capture_path):
    key = account.profile.live_callback_auth_key
    client.post(
        capture_path, b"<script>alert(1)</script>", content_type="text/html", HTTP_SCALE_CALLBACK_AUTH=key
    )

    html = render_to_string("inbox/_request.html", {"captured": CapturedRequest.objects.get()})

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html
    assert key not in html
    assert "<th>scale-callback-auth</th><td><code>***</code>" in html
    assert "the body is not JSON" in html


def test_the_timing_view_is_empty_without_callbacks_of_scalehooks(inbox):
    html = render_to_string("inbox/_timing.html", {"arrivals": inbox_timing(inbox=inbox)})

    assert "No callback of ScaleHooks captured yet." in html


def test_a_refreshing_list_asks_for_what_it_has_not_shown(client, inbox, capture_path):
    for n in range(3):
        client.get(f"{capture_path}/{n}")
    shown = inbox_requests(inbox=inbox, limit=1)

    newer = inbox_requests(inbox=inbox, after=shown[0].id)
    client.get(f"{capture_path}/3")
    newer_now = inbox_requests(inbox=inbox, after=shown[0].id, with_bodies=False)

    assert newer == []
    assert [r.path for r in newer_now] == ["/3"]
