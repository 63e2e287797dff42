"""A dispatcher run on a thread of its own, as a worker process runs it, for the tests."""

import threading

from django.db import connection

from callbacks_app.engine.dispatcher import Dispatcher, senders


def run_dispatcher() -> tuple[Dispatcher, threading.Thread]:
    """A dispatcher turning on its own thread (whose database connection it closes at the end)."""
    d = Dispatcher(sender=senders)

    def run():
        try:
            d.run()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return d, thread


def stop(d: Dispatcher, thread: threading.Thread) -> None:
    """Stop it and wait: it lets its sends finish and records them first."""
    d.stop.set()
    d.event.set()
    thread.join(timeout=30)
    assert not thread.is_alive(), "the dispatcher did not stop"
