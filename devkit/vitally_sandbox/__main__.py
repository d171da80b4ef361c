"""`python -m vitally_sandbox`: serve the sandbox on a socket until SIGTERM or SIGINT."""

from __future__ import annotations

import sys

from sandboxkit.cli import SandboxCli

from vitally_sandbox.app import create_app

CLI = SandboxCli(
    package="vitally_sandbox",
    description=__doc__,
    default_port=8899,
    tenant="org",
    create_app=create_app,
    demo_seed="demo_seed.json",
)
main = CLI.main

if __name__ == "__main__":
    sys.exit(main())
