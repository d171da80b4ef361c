"""`python -m unthread_sandbox`: serve the sandbox on a socket until SIGTERM or SIGINT.

Clients reach its API at `http://<host>:<port>/api` (what UNTHREAD_BASE_URL is set to).
"""

from __future__ import annotations

import sys

from sandboxkit.cli import SandboxCli

from unthread_sandbox.app import create_app

CLI = SandboxCli(
    package="unthread_sandbox",
    description=__doc__,
    default_port=8898,
    tenant="tenant",
    create_app=create_app,
)
main = CLI.main

if __name__ == "__main__":
    sys.exit(main())
