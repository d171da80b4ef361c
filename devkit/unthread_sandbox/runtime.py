"""The running Unthread sandbox: `sandboxkit.runtime.BaseSandbox` over a store of tenants."""

from __future__ import annotations

from sandboxkit.runtime import BaseSandbox

from unthread_sandbox.specs import SeedFile
from unthread_sandbox.state import Store, Tenant


class Sandbox(BaseSandbox[Store, Tenant, SeedFile]):
    """One sandbox instance. `startup` is what `reset` returns to: its faults always, its
    tenants when asked to reseed. Faults are the Vitally sandbox's settings; of them, the
    latency, error, outage, slow and rate-limit ones apply here (Unthread calls are reads)."""

    def new_store(self) -> Store:
        return Store()

    def seed(self) -> None:
        for spec in self.startup.tenants:
            self.store.put_tenant(spec)
