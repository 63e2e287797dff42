"""The asynchronous sender (issue 15): a send waiting on a slow receiver holds a socket, not a thread."""

import asyncio
import threading

import pytest
from django.utils import timezone

from callbacks_app.engine.dispatcher import senders
from callbacks_app.engine.leases import deliveries_claim
from tests.factories import DeliveryFactory, TaskFactory
from tests.waiting import wait_until

pytestmark = pytest.mark.django_db

SENDS = 200


class HoldingReceiver:
    """An HTTP server on 127.0.0.1 (its own event loop thread) that holds every request until released."""

    def __init__(self):
        self.held = 0
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.release = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=5)

    async def _start(self) -> asyncio.Event:
        release = asyncio.Event()
        server = await asyncio.start_server(self._answer, "127.0.0.1", 0, backlog=1024)
        self.server, self.port = server, server.sockets[0].getsockname()[1]
        return release

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            ),
            0,
        )
        await reader.readexactly(length)
        self.held += 1
        await self.release.wait()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.release.set)
        self.loop.call_soon_threadsafe(self.server.close)


@pytest.fixture
def holding(settings):
    settings.CALLBACK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    receiver = HoldingReceiver()
    yield receiver
    receiver.close()


def test_hundreds_of_sends_wait_on_a_slow_receiver_without_a_thread_each(account, holding):
    task = TaskFactory(owner=account.user)
    deliveries = [
        DeliveryFactory(
            task=task,
            target=f"http://127.0.0.1:{holding.port}/hook?n={i}",
            payload="{}",
            due=True,
            next_attempt_at=timezone.now(),
        )
        for i in range(SENDS)
    ]
    claims = deliveries_claim(ids=[d.id for d in deliveries])
    threads_before = threading.active_count()

    futures = [senders.submit(claim) for claim in claims]

    wait_until(lambda: holding.held == SENDS, 30, "every send reached the receiver")
    # the sends wait on one event loop thread (and its resolver's few threads), not one each
    assert threading.active_count() - threads_before <= 8
    assert not any(future.done() for future in futures)
    holding.loop.call_soon_threadsafe(holding.release.set)
    results = [future.result(timeout=30) for future in futures]
    assert [r.result.status_code for r in results] == [200] * SENDS
    assert all(r.result.ok for r in results)
