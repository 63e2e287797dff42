"""Callback targets validated when a task or profile is saved (SPEC §8)."""

import pytest
from django.core.exceptions import ValidationError

from tasks_app.validators import validate_attachment_url, validate_callback_target


@pytest.fixture(autouse=True)
def nothing_allowed(settings):
    settings.CALLBACK_ALLOWED_NETWORKS = []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/cb",
        "http://localhost/cb",
        "http://api.localhost/cb",
        "http://2130706433/cb",
        "http://0x7f000001/cb",
        "http://0177.0.0.1/cb",
        "http://127.1/cb",
        "http://10.0.0.1/cb",
        "http://172.16.5.4/cb",
        "http://192.168.1.1/cb",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/cb",
        "http://0.0.0.0/cb",
        "http://224.0.0.1/cb",
        "http://240.0.0.1/cb",
        "http://[::1]/cb",
        "http://[::]/cb",
        "http://[fe80::1]/cb",
        "http://[fc00::1]/cb",
        "http://[::ffff:10.0.0.1]/cb",
        "http://[64:ff9b::a00:1]/cb",
        "http://[2002:a00:1::]/cb",
        "http://[ff02::1]/cb",
        # reserved and site-local IPv6, and IPv4 embedded in ::/96 and ::ffff:0:0:0/96 judged as IPv4
        "http://[::127.0.0.1]/cb",
        "http://[::7f00:1]/cb",
        "http://[fec0::1]/cb",
        "http://[::ffff:0:127.0.0.1]/cb",
        "http://[::a9fe:a9fe]/cb",
        "http://[::ffff:0:10.0.0.1]/cb",
        "http://[100::1]/cb",
        "http://[4000::1]/cb",
    ],
)
def test_literal_forbidden_address_is_refused(url):
    with pytest.raises(ValidationError, match="not allowed"):
        validate_callback_target(url)


@pytest.mark.parametrize(
    "url, message",
    [
        ("ftp://example.com/x", "http"),
        ("javascript:alert(1)", "http"),
        ("http://user:secret@example.com/x", "Credentials"),
        ("http:///nohost", "no host"),
        ("http://example.com:99999/x", "valid URL"),
        ("https://example.com/" + "a" * 2048, "2048"),
    ],
)
def test_malformed_target_is_refused(url, message):
    with pytest.raises(ValidationError, match=message):
        validate_callback_target(url)


@pytest.mark.parametrize(
    "target",
    [
        "https://example.com/hooks?x=1",
        "http://93.184.216.34:8080/",
        "ops@example.com",
        "mailto:ops@example.com",
        "http://[2606:4700::1111]/",
        "",
        "http://[::ffff:0:93.184.216.34]/",
    ],
)
def test_public_urls_and_email_addresses_are_accepted(target):
    assert validate_callback_target(target) == target


def test_allowed_network_is_accepted(settings):
    settings.CALLBACK_ALLOWED_NETWORKS = ["10.0.0.0/8"]

    assert validate_callback_target("http://10.1.2.3/cb") == "http://10.1.2.3/cb"


def test_embedded_ipv4_is_judged_as_ipv4_by_the_allowed_networks(settings):
    settings.CALLBACK_ALLOWED_NETWORKS = ["127.0.0.0/8"]

    assert validate_callback_target("http://[::127.0.0.1]/cb") == "http://[::127.0.0.1]/cb"
    assert validate_callback_target("http://[::ffff:0:127.0.0.1]/cb") == "http://[::ffff:0:127.0.0.1]/cb"
    with pytest.raises(ValidationError, match="not allowed"):
        validate_callback_target("http://[::a9fe:a9fe]/cb")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.png",
        "http://[::127.0.0.1]/a.png",
        "http://[fec0::1]/a.png",
        "http://169.254.169.254/latest/meta-data",
        "http://localhost/a.png",
        "http://2130706433/a.png",
    ],
)
def test_attachment_url_to_a_forbidden_literal_address_is_refused(url):
    with pytest.raises(ValidationError, match="not allowed"):
        validate_attachment_url(url)


@pytest.mark.parametrize("url", ["https://example.com/a.png", "http://93.184.216.34/a.png", "tomato"])
def test_attachment_url_to_a_name_or_a_public_address_is_accepted(url):
    assert validate_attachment_url(url) == url
