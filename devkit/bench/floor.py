"""The design's floor: what one synced event costs before any sync logic.

``python -m bench.floor worker -l info`` runs it, configured as :mod:`bench.passthrough` plus
``FLOOR_CONFIG`` (the JSON the harness writes for :mod:`bench.naive`: the sandbox's URL and
each tenant's key). For each input record it does only what the design makes every synced
event do: one Vitally call through the worker's own HTTP client (:func:`apiclient.http.send`
on its aiohttp pool; the admin look-up, answered by the sandbox at once in ``latency0``), one
table entry through Faust's changelog (the conversation's state), and one audit record, with
records of one conversation in order and up to ``MAX_IN_FLIGHT`` at once through the
worker's own lanes (:class:`streams.lanes.KeyedLanes`). No parsing into models, no rendering,
no people, no rate limiter, no metrics of ours.

Its CPU per event over the pass-through's, in the same run, is the least the worker's ratio
can come to with Faust, httpx on aiohttp and one call and two records per event.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import faust
from faust.types import EventT, StreamT

from apiclient.http import build_http_client, send
from bench.naive import basic_auth
from bench.passthrough import audit_record, faust_app
from streams.lanes import KeyedLanes

# The worker sends at most HTTP_MAX_CONNECTIONS (100 by default) requests at once.
MAX_IN_FLIGHT = 100


def create_app(env: dict[str, str]) -> faust.App:
    app, source, audit = faust_app(env)
    config: dict[str, Any] = json.loads(Path(env["FLOOR_CONFIG"]).read_text())
    lookup = f"{config['vitallyBaseUrl']}/resources/admins/search"
    tenants = {
        tenant: ({"Authorization": basic_auth(t["token"])}, {"email": t["defaultAdmin"]})
        for tenant, t in config["tenants"].items()
    }
    state = app.Table("floor-state", key_type=bytes, value_type=bytes)

    @app.agent(source)
    async def floor(stream: StreamT[bytes]) -> None:
        http = build_http_client()
        lanes = KeyedLanes(MAX_IN_FLIGHT)
        async for event in stream.events():
            # Faust keeps only a weak reference to the current event: the lane's task holds
            # the event itself, or its table write would find no event to take a partition from.
            async def work(event: EventT[bytes] = event) -> None:
                message, value = event.message, event.value or b"{}"
                headers, params = tenants[json.loads(value)["tenantId"]]
                response = await send(http, "GET", lookup, headers=headers, params=params)
                response.raise_for_status()
                state[message.key] = value[:64]
                record = audit_record(message.topic, message.partition, message.offset, value)
                await audit.send(key=message.key, value=record)

            await lanes.submit(event.message.key, work)

    return app


if __name__ == "__main__":
    create_app(dict(os.environ)).main()
