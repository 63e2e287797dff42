"""Mailing a team's invitations (``tasks_app.invitations``, SPEC §8 "People", §6.6): one link per
address, within the account's hourly email budget, and none that could attach an existing user.

The send job's service runs in this process (``invitation_send``), with a real SMTP server; the
job through a real cluster, and the link's page: tests/portal_app/test_invitations.py.
"""

import re

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from callbacks_app.confirmations import emails_sent_this_hour
from tasks_app.invitations import invitation_send, invitations_create
from tasks_app.keys import hash_link_token
from tasks_app.models import Invitation
from tests.factories import teammate_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("links_to_the_test_client")]

LINK = re.compile(r"http://testserver/portal/invitations/([A-Za-z0-9_-]+)")


def invite(account, *emails: str, role: str = "member") -> None:
    invitations_create(account=account.profile, emails=list(emails), role=role)


def send_all() -> list[bool]:
    return [
        invitation_send(invitation_id=i)
        for i in Invitation.objects.order_by("id").values_list("id", flat=True)
    ]


def test_an_invitation_mails_its_address_one_link_of_128_bits_stored_as_a_hash(account, smtp_server):
    invite(account, "Ada@Example.com", role="manager")

    assert send_all() == [True]

    (message,) = smtp_server.messages
    assert message.rcpt_tos == ["ada@example.com"]
    assert "customer@example.com" in message.message["Subject"]
    assert "as manager" in message.body
    token = LINK.search(message.body).group(1)
    assert len(token) >= 22  # 128 bits, base64url
    invitation = Invitation.objects.get()
    assert invitation.token_hash == hash_link_token(token)
    assert token not in str(list(Invitation.objects.values()))


def test_no_link_is_mailed_to_an_address_a_user_holds(account, other_account, django_user_model, smtp_server):
    # Given the addresses of a superuser, of another account's owner, and a fresh one
    django_user_model.objects.create_superuser("root", "root@ops.example", "a-password-of-root")
    invite(account, "Root@Ops.Example", "other@example.com", "fresh@example.com")

    # When the invitations are mailed
    sent = send_all()

    # Then only the fresh address gets a link; the others get nothing and have no usable link,
    # and the hour's email budget counts all three (it tells nothing of who has a user)
    assert sent == [False, False, True]
    assert [m.rcpt_tos for m in smtp_server.messages] == [["fresh@example.com"]]
    assert dict(Invitation.objects.values_list("email", "token_hash").exclude(email="fresh@example.com")) == {
        "root@ops.example": "",
        "other@example.com": "",
    }
    assert emails_sent_this_hour(owner_ids=[account.user.id], now=timezone.now()) == {account.user.id: 3}


def test_invitations_are_mailed_within_the_accounts_hourly_email_budget(account, smtp_server, settings):
    settings.CALLBACK_EMAILS_PER_ACCOUNT_PER_HOUR = 1
    invite(account, "ada@example.com", "bob@example.com")

    assert send_all() == [True, False]  # the second waits for room: invited again, it is asked again

    assert [m.rcpt_tos for m in smtp_server.messages] == [["ada@example.com"]]
    assert Invitation.objects.get(email="bob@example.com").sent_at is None
    settings.CALLBACK_EMAILS_PER_ACCOUNT_PER_HOUR = 2
    invite(account, "bob@example.com")
    assert send_all() == [False, True]


def test_inviting_a_pending_address_again_mails_no_second_link(account, smtp_server):
    invite(account, "ada@example.com")
    send_all()

    invite(account, "ADA@example.com", role="admin")

    assert send_all() == [False]
    assert len(smtp_server.messages) == 1
    assert Invitation.objects.get().role == "admin"


def test_an_expired_invitation_invited_again_gets_a_new_link(account, smtp_server):
    invite(account, "ada@example.com")
    send_all()
    first = Invitation.objects.get()
    Invitation.objects.update(expires_at=timezone.now())

    invite(account, "ada@example.com")

    assert send_all() == [True]
    again = Invitation.objects.get()
    assert again.expires_at > timezone.now()
    assert again.token_hash not in ("", first.token_hash)
    assert LINK.search(smtp_server.messages[1].body).group(1) != LINK.search(
        smtp_server.messages[0].body
    ).group(1)


def test_the_owner_and_teammates_are_not_invited(account, smtp_server):
    teammate_create(account=account.profile, email="mate@example.com")

    invite(account, "Customer@example.com", "MATE@example.com")

    assert not Invitation.objects.exists()


def test_an_invitation_makes_no_user(account):
    invite(account, "ada@example.com")

    assert not get_user_model().objects.filter(email__iexact="ada@example.com").exists()
