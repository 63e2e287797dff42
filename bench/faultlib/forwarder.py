"""The forwarder between the hosts and PostgreSQL or Redis (its own process): it passes, holds (a
silent partition), delays or drops bytes on command, where the kernel (no netem, no tc actions) cannot."""

import asyncio
import contextlib
import random
import time
import urllib.error
import urllib.request

from faultlib.net import N

# --- The forwarder (its own process: python bench/faults.py proxy ROUTE...) ----------------


class Route:
    """One listening port forwarded to one address, and what it does to the bytes now."""

    def __init__(self, name: str):
        self.name = name
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.delay = 0.0
        self.loss = 0.0
        self.writers: set[asyncio.StreamWriter] = set()

    async def pipe(self, reader, writer):
        queue: asyncio.Queue = asyncio.Queue()

        async def read():
            try:
                while data := await reader.read(65536):
                    extra = random.uniform(0.2, 0.6) if self.loss and random.random() < self.loss else 0.0
                    await queue.put((time.monotonic() + self.delay + extra, data))
            except (ConnectionError, OSError):
                pass
            await queue.put((0, b""))

        async def write():
            while True:
                at, data = await queue.get()
                if not data:
                    break
                await self.flowing.wait()
                if (wait := at - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
                await self.flowing.wait()
                writer.write(data)
                await writer.drain()
            with contextlib.suppress(Exception):
                writer.write_eof()

        reading = asyncio.ensure_future(read())
        try:
            await write()
        except (ConnectionError, OSError):
            pass
        finally:
            reading.cancel()

    def cut(self):
        for writer in list(self.writers):
            transport = writer.transport
            with contextlib.suppress(Exception):
                transport.abort()


async def proxy_main(specs: list[str]) -> None:
    from aiohttp import web

    routes: dict[str, Route] = {}

    for spec in specs:  # name=listen_ip:port=target_ip:port
        name, listen, target = spec.split("=")
        route = routes[name] = Route(name)
        lhost, lport = listen.rsplit(":", 1)
        thost, tport = target.rsplit(":", 1)

        async def handle(client_reader, client_writer, route=route, thost=thost, tport=int(tport)):
            try:
                server_reader, server_writer = await asyncio.open_connection(thost, tport)
            except OSError:
                client_writer.transport.abort()
                return
            route.writers |= {client_writer, server_writer}
            try:
                await asyncio.gather(
                    route.pipe(client_reader, server_writer), route.pipe(server_reader, client_writer)
                )
            finally:
                route.writers -= {client_writer, server_writer}
                for w in (client_writer, server_writer):
                    with contextlib.suppress(Exception):
                        w.close()

        await asyncio.start_server(handle, lhost, int(lport), reuse_address=True, backlog=1024)

    async def control(request):
        names = request.query.get("route", "").split(",")
        mode = request.query.get("mode", "pass")
        for name in names:
            route = routes[name]
            if mode == "hold":
                route.flowing.clear()
            elif mode == "cut":
                route.cut()
            else:
                route.flowing.set()
                route.delay = float(request.query.get("delay_ms", 0)) / 1000
                route.loss = float(request.query.get("loss", 0))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/set", control)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, *N.proxy_control).start()
    await asyncio.Event().wait()


def proxy_set(routes: list[str], mode: str, **params) -> None:
    query = "&".join([f"route={','.join(routes)}", f"mode={mode}", *(f"{k}={v}" for k, v in params.items())])
    request = urllib.request.Request(
        f"http://{N.proxy_control[0]}:{N.proxy_control[1]}/set?{query}", method="POST"
    )
    urllib.request.urlopen(request, timeout=5).close()
