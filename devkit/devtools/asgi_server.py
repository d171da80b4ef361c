"""Serving a sandbox's ASGI app on a socket with uvicorn, shared by every sandbox's `__main__`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp


class QuietServer(uvicorn.Server):
    """uvicorn re-raises a caught SIGTERM/SIGINT after its graceful shutdown, which turns a
    normal stop into exit status -15 or a KeyboardInterrupt traceback; this one just stops."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        stops = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in stops}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def build_server(app: ASGIApp, host: str, port: int) -> QuietServer:
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        # Requests stalled by a slow fault must not hold up a stop for their full delay.
        timeout_graceful_shutdown=1,
    )
    return QuietServer(config)


async def serve(server: uvicorn.Server, log: logging.Logger, name: str) -> None:
    """Serve until stopped, logging the bound address once (the port may have been 0)."""
    task = asyncio.create_task(server.serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if server.started:
        host, port = server.servers[0].sockets[0].getsockname()[:2]
        log.info("%s listening on http://%s:%s", name, host, port)
    await task
