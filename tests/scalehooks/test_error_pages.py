"""Error pages: the admin's 403 and 404 in the admin's style, the API's in JSON, the portal's in
its layout (scalehooks/views.py)."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

ADMIN_STYLE = "admin/css/base.css"


def test_a_page_an_operator_may_not_see_is_a_403_in_the_admins_style(operator_client, operator_account):
    answer = operator_client.get(reverse("admin:auth_user_changelist"))  # a superuser's page

    assert answer.status_code == 403
    html = answer.content.decode()
    assert ADMIN_STYLE in html
    assert "ScaleHooks administration" in html
    assert "You may not see this page" in html
    assert f'href="{reverse("admin:index")}"' in html  # back to what the operator may see
    assert operator_account.user.email in html  # whose session it is (the user tools)


def test_an_unknown_admin_page_is_a_404_in_the_admins_style(operator_client):
    answer = operator_client.get("/admin/callbacks_app/no-such-page/")

    assert answer.status_code == 404
    html = answer.content.decode()
    assert ADMIN_STYLE in html
    assert "Page not found" in html


def test_an_unknown_object_in_the_admin_is_a_404_in_the_admins_style(operator_client):
    answer = operator_client.post(reverse("admin:callbacks_app_targethealth_pause", args=[999999]))

    assert answer.status_code == 404
    assert ADMIN_STYLE in answer.content.decode()


def test_an_unknown_page_outside_the_admin_the_api_and_the_portal_is_styled_too(client):
    answer = client.get("/no-such-page")

    assert answer.status_code == 404
    html = answer.content.decode()
    assert ADMIN_STYLE in html
    assert "ScaleHooks administration" not in html  # not an operators' page: nobody is signed in


def test_the_apis_404_stays_json(operator_client):
    answer = operator_client.get("/v1/no-such-route")

    assert answer.status_code == 404
    assert answer.json() == {"status_code": 404, "error": "Not found."}


def test_the_portals_404_stays_in_the_portals_layout(client):
    answer = client.get("/portal/no-such-page")

    assert answer.status_code == 404
    assert "ScaleHooks portal" in answer.content.decode()
