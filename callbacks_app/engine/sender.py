"""This process's sender: HTTP sends on the outgoing event loop, email on a few threads."""

import threading
from concurrent.futures import Future, ThreadPoolExecutor

from callbacks_app.engine.attempt import attempt_send_email, attempt_send_http
from callbacks_app.engine.leases import Claim
from callbacks_app.models import Delivery
from scalehooks.outgoing.aio import outgoing_loop


class Sender:
    """Starts this process's sends: HTTP on the outgoing event loop, email on a few threads.

    Each send is a ``concurrent.futures.Future`` the dispatcher waits on. An
    HTTP send waiting on a slow receiver holds a socket on the loop
    (``scalehooks.outgoing.aio``), not a thread; email blocks in Django's
    backend, hence its threads (started on first use).
    """

    def __init__(self, *, email_threads: int):
        self.email_threads = email_threads
        self._lock = threading.Lock()
        self._emails: ThreadPoolExecutor | None = None

    def submit(self, claim: Claim) -> Future:
        if claim.delivery.target_kind == Delivery.TargetKind.EMAIL:
            return self._email_pool().submit(
                attempt_send_email, delivery=claim.delivery, headers=claim.headers
            )
        return outgoing_loop.submit(
            attempt_send_http(
                delivery=claim.delivery,
                headers=claim.headers,
                account_networks=claim.account_networks,
            )
        )

    def _email_pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._emails is None:
                self._emails = ThreadPoolExecutor(
                    max_workers=self.email_threads, thread_name_prefix="scalehooks-email"
                )
            return self._emails

    def shutdown(self) -> None:
        """Let go of the email threads and stop the event loop, cancelling its sends (for tests)."""
        with self._lock:
            emails, self._emails = self._emails, None
        if emails is not None:
            emails.shutdown(wait=False)
        outgoing_loop.shutdown()
