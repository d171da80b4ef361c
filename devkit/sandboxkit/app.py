"""Building a sandbox ASGI app: `SandboxApp.create_app(...)` serves a socket and in-process
tests alike. Each sandbox names its runtime, seed file, routes and gateway."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from sandboxkit.clock import Clock, Sleeper, SystemClock, real_sleep
from sandboxkit.errors import ApiError, api_error_response, http_error_response
from sandboxkit.faults import FaultUpdate
from sandboxkit.gateway import Gateway, Runtime
from sandboxkit.specs import SeedBase

SandboxT = TypeVar("SandboxT", bound=Runtime[Any])
SeedT = TypeVar("SeedT", bound=SeedBase)
# The control API's routes and the API's own routes, for one sandbox.
Routes = tuple[Sequence[BaseRoute], Sequence[BaseRoute]]


class SandboxApp(Generic[SandboxT, SeedT]):
    """How one kind of sandbox is put together; `create_app` builds one instance."""

    def __init__(
        self,
        *,
        sandbox: Callable[..., SandboxT],
        seed: type[SeedT],
        routes: Callable[[SandboxT], Routes],
        gateway: type[Gateway[Any, Any]],
    ) -> None:
        self._sandbox = sandbox
        self._seed = seed
        self._routes = routes
        self._gateway = gateway

    def create_app(
        self,
        *,
        seed: SeedT | Mapping[str, Any] | None = None,
        faults: FaultUpdate | Mapping[str, Any] | None = None,
        clock: Clock | None = None,
        sleep: Sleeper | None = None,
        random_seed: int | None = 0,
        log_size: int = 1000,
    ) -> Starlette:
        """A sandbox app holding `seed`'s tenants, with `seed`'s faults updated by `faults`.

        `clock` and `sleep` default to real time; `random_seed` fixes the fault dice (None for
        a different run each time). The Sandbox itself is kept on `app.state.sandbox`.
        """
        sandbox = self._sandbox(
            startup=self._startup(seed, faults),
            clock=clock or SystemClock(),
            sleep=sleep or real_sleep,
            random_seed=random_seed,
            log_size=log_size,
        )
        control_routes, api_routes = self._routes(sandbox)
        app = Starlette(
            routes=[*control_routes, *api_routes],
            middleware=[Middleware(self._gateway, sandbox=sandbox, routes=api_routes)],
            exception_handlers={ApiError: api_error_response, HTTPException: http_error_response},
        )
        app.state.sandbox = sandbox
        return app

    def _startup(
        self, seed: SeedT | Mapping[str, Any] | None, faults: FaultUpdate | Mapping[str, Any] | None
    ) -> SeedT:
        startup = seed if isinstance(seed, self._seed) else self._seed.model_validate(seed or {})
        if faults is None:
            return startup
        extra = faults if isinstance(faults, FaultUpdate) else FaultUpdate.model_validate(faults)
        merged = startup.faults.model_copy(update=extra.model_dump(exclude_unset=True))
        return startup.model_copy(update={"faults": merged})
