import pytest

from inbox_app.services import inbox_create


@pytest.fixture
def inbox(account):
    """A live-mode inbox of the customer's account."""
    return inbox_create(profile=account.profile, mode="live", name="try a few requests")


@pytest.fixture
def capture_path(inbox):
    """The path of the inbox's URL (for Django's test client)."""
    return f"/inbox/{inbox.token}"
