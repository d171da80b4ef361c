"""Building the Unthread sandbox's ASGI app (`sandboxkit.app.SandboxApp`): `create_app(...)`
serves a socket and in-process tests alike."""

from __future__ import annotations

from sandboxkit.app import Routes, SandboxApp

from unthread_sandbox.control import ControlRoutes
from unthread_sandbox.gateway import ApiGateway
from unthread_sandbox.routes import ApiRoutes
from unthread_sandbox.runtime import Sandbox
from unthread_sandbox.specs import SeedFile


def _routes(sandbox: Sandbox) -> Routes:
    return ControlRoutes(sandbox).routes(), ApiRoutes().routes()


UNTHREAD_SANDBOX = SandboxApp(sandbox=Sandbox, seed=SeedFile, routes=_routes, gateway=ApiGateway)
# A sandbox app holding `seed`'s tenants, with `seed`'s faults updated by `faults`.
create_app = UNTHREAD_SANDBOX.create_app
