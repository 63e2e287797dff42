"""What a callback target is (SPEC §6.6): an http(s) URL, or an email address.

Which network addresses a target may reach is the project's outgoing policy
(``scalehooks.outgoing.policy``).
"""

import re

_EMAIL_RE = re.compile(r"^[^@\s/:]+@[^@\s/]+\.[^@\s/]+$")


def email_target(target: str) -> str | None:
    """The address when ``target`` is an email address or ``mailto:`` URL, else None."""
    address = target[len("mailto:") :] if target.lower().startswith("mailto:") else target
    return address if _EMAIL_RE.match(address) else None
