"""Building the sandbox ASGI app: `create_app(...)` serves a socket and in-process tests alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandboxkit.clock import Clock, Sleeper, SystemClock, real_sleep
from sandboxkit.errors import ApiError, api_error_response, http_error_response
from sandboxkit.faults import FaultUpdate
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware

from unthread_sandbox.control import ControlRoutes
from unthread_sandbox.gateway import ApiGateway
from unthread_sandbox.routes import ApiRoutes
from unthread_sandbox.runtime import Sandbox
from unthread_sandbox.specs import SeedFile


def create_app(
    *,
    seed: SeedFile | Mapping[str, Any] | None = None,
    faults: FaultUpdate | Mapping[str, Any] | None = None,
    clock: Clock | None = None,
    sleep: Sleeper | None = None,
    random_seed: int | None = 0,
    log_size: int = 1000,
) -> Starlette:
    """A sandbox app holding `seed`'s tenants, with `seed`'s faults updated by `faults`.

    `clock` and `sleep` default to real time; `random_seed` fixes the fault dice. The Sandbox
    itself is kept on `app.state.sandbox`.
    """
    sandbox = Sandbox(
        startup=_startup(seed, faults),
        clock=clock or SystemClock(),
        sleep=sleep or real_sleep,
        random_seed=random_seed,
        log_size=log_size,
    )
    api_routes = ApiRoutes().routes()
    app = Starlette(
        routes=[*ControlRoutes(sandbox).routes(), *api_routes],
        middleware=[Middleware(ApiGateway, sandbox=sandbox, routes=api_routes)],
        exception_handlers={ApiError: api_error_response, HTTPException: http_error_response},
    )
    app.state.sandbox = sandbox
    return app


def _startup(
    seed: SeedFile | Mapping[str, Any] | None, faults: FaultUpdate | Mapping[str, Any] | None
) -> SeedFile:
    startup = seed if isinstance(seed, SeedFile) else SeedFile.model_validate(seed or {})
    if faults is None:
        return startup
    extra = faults if isinstance(faults, FaultUpdate) else FaultUpdate.model_validate(faults)
    merged = startup.faults.model_copy(update=extra.model_dump(exclude_unset=True))
    return startup.model_copy(update={"faults": merged})
