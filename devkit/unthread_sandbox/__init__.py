"""An Unthread REST API sandbox: a real HTTP server with in-memory tenants, for tests and demos.

Run it with `python -m unthread_sandbox`; build it in-process with `create_app(...)`. It serves
what vitally-sync calls (`POST /api/users/list`, `GET /api/conversations/{id}`) behind
`X-Api-Key` auth, with the Vitally sandbox's fault settings, and a control API under
`/_sandbox`.
"""

from unthread_sandbox.app import create_app
from unthread_sandbox.process import UnthreadSandboxHandle, run_sandbox
from unthread_sandbox.specs import SeedFile

__all__ = ["SeedFile", "UnthreadSandboxHandle", "create_app", "run_sandbox"]
