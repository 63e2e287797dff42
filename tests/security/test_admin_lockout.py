"""Admin login lockout (django-axes, SPEC §8): repeated wrong passwords for one user name
from one address lock that pair out, even with the right password."""

import pytest
from django.conf import settings as project_settings
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-correct-password"


@pytest.fixture
def lockout_on(settings):
    """The suite runs with AXES_ENABLED off (tests/settings.py); these tests turn it on."""
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    return settings


@pytest.fixture
def staff_user(db):
    return get_user_model().objects.create_user(
        username="admin@example.com", email="admin@example.com", password=PASSWORD, is_staff=True
    )


def admin_login(client, password, *, username="admin@example.com", address="10.0.0.1"):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
    )


def test_lockout_is_on_in_the_project_settings():
    # the suite's own settings switch it off; the product's must not
    from scalehooks import settings as product

    assert product.AXES_ENABLED is True
    assert product.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert product.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert project_settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


def test_right_password_logs_in_before_any_failure(client, lockout_on, staff_user):
    answer = admin_login(client, PASSWORD)

    assert answer.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_repeated_wrong_passwords_lock_out_even_the_right_one(client, lockout_on, staff_user):
    # given as many wrong passwords as the limit allows
    for _ in range(3):
        admin_login(client, "wrong")

    # when the right password is given
    answer = admin_login(client, PASSWORD)

    # then the login is refused and no session is opened
    assert answer.status_code == 429
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302  # to the login page


def test_failures_below_the_limit_do_not_lock_out(client, lockout_on, staff_user):
    for _ in range(2):
        admin_login(client, "wrong")

    assert admin_login(client, PASSWORD).status_code == 302


def test_lockout_is_per_user_name_and_address(client, lockout_on, staff_user):
    # given the user name locked out from one address
    for _ in range(3):
        admin_login(client, "wrong", address="10.0.0.1")

    # then the same user may still log in from another address
    assert admin_login(client, PASSWORD, address="10.0.0.2").status_code == 302


def test_lockout_ends_after_the_cool_off(client, lockout_on, staff_user):
    from datetime import timedelta

    from axes.models import AccessAttempt

    for _ in range(3):
        admin_login(client, "wrong")
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(days=1))

    assert admin_login(client, PASSWORD).status_code == 302


def test_client_login_and_force_login_still_work_in_the_suite(client, staff_user):
    assert client.login(username="admin@example.com", password=PASSWORD)
    client.logout()
    client.force_login(staff_user)

    assert client.get("/admin/").status_code == 200
