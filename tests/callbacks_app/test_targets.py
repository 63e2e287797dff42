"""Email targets are parsed strictly (issue 16 point 6, SPEC §6.6, §8).

An address is ``local@domain`` and nothing else: no display name, no
control characters, no IP literal (which would bypass the address policy), no
``%`` or ``!`` source routing, a domain of DNS labels with a non-numeric top
label. ``validate_callback_target`` refuses what ``email_target`` does not
accept (a 400 when a task or profile is saved).
"""

import pytest
from django.core.exceptions import ValidationError

from callbacks_app.targets import email_target
from tasks_app.validators import validate_callback_target

REFUSED = [
    '"A" <a@b.c>',
    '"A"<a@b.c>',
    "A <a@b.co>",
    "<a@b.co>",
    "a@[127.0.0.1]",
    "a@[IPv6:::1]",
    "a@127.0.0.1",
    "a%b@c.de",
    "a!b@c.de",
    "c.de!a@b.fr",
    "a@b.co\r\nBcc: victim@example.com",
    "a@b.co\nx",
    "a\x00b@c.de",
    "a\x7fb@c.de",
    "a@b\x01.co",
    "a b@c.de",
    "a@b@c.de",
    "a,b@c.de",
    "a@c.de,b@c.de",
    "a;b@c.de",
    '"a"@c.de',
    "a(comment)@c.de",
    ".a@c.de",
    "a.@c.de",
    "a..b@c.de",
    "a@-c.de",
    "a@c-.de",
    "a@c..de",
    "a@localhost",
    "a@c.de.",
    "é@c.de",
    "a@é.de",
    "x" * 65 + "@c.de",
    "a@" + "b" * 64 + ".de",
    "mailto:a@c.de?bcc=victim@example.com",
    "mailto:a@c.de,b@c.de",
    "mailto:%22A%22%20%3Ca@c.de%3E",
    "",
]

ACCEPTED = [
    ("ops@example.com", "ops@example.com"),
    ("mailto:ops@example.com", "ops@example.com"),
    ("MAILTO:ops@example.com", "ops@example.com"),
    ("first.last+tag@mail.example.co.uk", "first.last+tag@mail.example.co.uk"),
    ("o'brien_x-y=z@xn--bcher-kva.example", "o'brien_x-y=z@xn--bcher-kva.example"),
    ("a@b.io", "a@b.io"),
]


@pytest.mark.parametrize("target", REFUSED)
def test_email_target_refuses_anything_but_a_plain_address(target):
    assert email_target(target) is None


@pytest.mark.parametrize("target", [t for t in REFUSED if t and "@" in t and not t.startswith("mailto:%")])
def test_validate_callback_target_refuses_a_loose_email_address(target):
    with pytest.raises(ValidationError):
        validate_callback_target(target)


@pytest.mark.parametrize(("target", "address"), ACCEPTED)
def test_email_target_accepts_plain_addresses(target, address):
    assert email_target(target) == address
    assert validate_callback_target(target) == target
