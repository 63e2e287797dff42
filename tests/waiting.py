"""Waiting in the tests: poll a condition until it holds or a deadline passes."""

import time


def wait_until(condition, timeout: float, message: str, interval: float = 0.05):
    """Call ``condition`` every ``interval`` seconds until it returns a true value, and return that.

    Fails the test (``AssertionError: message``) once ``timeout`` seconds have
    passed without it. The deadline only bounds the wait: no test asserts a
    duration through it.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(message)
        time.sleep(interval)
