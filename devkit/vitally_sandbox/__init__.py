"""A Vitally REST API sandbox: a real HTTP server with in-memory orgs, for tests and demos.

Run it with `python -m vitally_sandbox`; build it in-process with `create_app(...)`.
"""

from sandboxkit.clock import ManualClock
from sandboxkit.faults import FaultConfig, FaultUpdate

from vitally_sandbox.app import create_app
from vitally_sandbox.auth import basic_header
from vitally_sandbox.runtime import Sandbox
from vitally_sandbox.specs import SeedFile

__all__ = [
    "FaultConfig",
    "FaultUpdate",
    "ManualClock",
    "Sandbox",
    "SeedFile",
    "basic_header",
    "create_app",
]
