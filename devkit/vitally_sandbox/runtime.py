"""The running Vitally sandbox: `sandboxkit.runtime.BaseSandbox` over a store of orgs."""

from __future__ import annotations

from sandboxkit.runtime import BaseSandbox

from vitally_sandbox.specs import SeedFile
from vitally_sandbox.state import Org, Store


class Sandbox(BaseSandbox[Store, Org, SeedFile]):
    """One sandbox instance. `startup` is what `reset` returns to: its faults always, its
    orgs when asked to reseed."""

    def new_store(self) -> Store:
        return Store()

    def seed(self) -> None:
        for spec in self.startup.orgs:
            self.store.put_org(spec, self.clock.now())
