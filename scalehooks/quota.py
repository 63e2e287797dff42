"""An account's storage quota (SPEC §8 "Resources"): ``ACCOUNT_STORAGE_QUOTA_BYTES`` over all
an account stores from outside, its files (``tasks_app.files``) and its inboxes' captured
requests (``inbox_app.capture``) together.

Each app counts what it stores for an account and registers its counter when it starts
(``AppConfig.ready``): neither app imports the other to ask. An account is named by its
owner's user id (``Profile.user_id``, ``UploadedFile.owner_id``).

The quota is checked before a write, not under a lock: writes of one account that run at the
same moment may pass it together by their own sizes (imports are few at once, per account:
``FILES_IMPORTS_PER_ACCOUNT``).
"""

from collections.abc import Callable

from django.conf import settings


class StorageUsage:
    """The counters of what each app stores per account (bytes)."""

    def __init__(self):
        self._counters: dict[str, Callable[[int], int]] = {}

    def register(self, name: str, counter: Callable[[int], int]) -> None:
        """``counter(owner_id)``: the bytes ``name`` (an app's kind of content) stores for that account."""
        self._counters[name] = counter

    def used(self, *, owner_id: int, leaving_out: str = "") -> int:
        """Bytes stored for the account, by every counter but ``leaving_out``."""
        return sum(counter(owner_id) for name, counter in self._counters.items() if name != leaving_out)

    def room(self, *, owner_id: int, leaving_out: str = "") -> int:
        """Bytes the account may still store (never below 0), ``leaving_out`` not counted as used."""
        return max(
            0, settings.ACCOUNT_STORAGE_QUOTA_BYTES - self.used(owner_id=owner_id, leaving_out=leaving_out)
        )


storage = StorageUsage()


def quota_said() -> str:
    """The quota, as messages name it."""
    return f"ACCOUNT_STORAGE_QUOTA_BYTES, {settings.ACCOUNT_STORAGE_QUOTA_BYTES} bytes of files and captured requests"
