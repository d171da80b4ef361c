"""Building the Vitally sandbox's ASGI app (`sandboxkit.app.SandboxApp`): `create_app(...)`
serves a socket and in-process tests alike."""

from __future__ import annotations

from sandboxkit.app import Routes, SandboxApp

from vitally_sandbox.control import ControlRoutes
from vitally_sandbox.gateway import ResourceGateway
from vitally_sandbox.resources import ResourceRoutes
from vitally_sandbox.runtime import Sandbox
from vitally_sandbox.specs import SeedFile


def _routes(sandbox: Sandbox) -> Routes:
    return ControlRoutes(sandbox).routes(), ResourceRoutes(sandbox).routes()


VITALLY_SANDBOX = SandboxApp(
    sandbox=Sandbox, seed=SeedFile, routes=_routes, gateway=ResourceGateway
)
# A sandbox app holding `seed`'s orgs, with `seed`'s faults updated by `faults`.
create_app = VITALLY_SANDBOX.create_app
