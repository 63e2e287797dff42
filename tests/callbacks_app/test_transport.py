"""Parsing a receiver's ``Retry-After`` (SPEC §6.4): delta-seconds or an HTTP date."""

import email.utils
import time

import pytest

from callbacks_app.transport import parse_retry_after


def test_parse_retry_after_reads_delta_seconds():
    assert parse_retry_after(" 120 ") == 120.0


def test_parse_retry_after_reads_an_http_date():
    in_a_minute = email.utils.formatdate(time.time() + 60, usegmt=True)

    assert parse_retry_after(in_a_minute) == pytest.approx(60, abs=2)


def test_parse_retry_after_in_the_past_is_zero():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "-5"])
def test_parse_retry_after_ignores_what_it_cannot_read(value):
    assert parse_retry_after(value) is None
