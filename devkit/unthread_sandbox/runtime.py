"""The running sandbox: its store, settings, clock and dice, shared by every route."""

from __future__ import annotations

from sandboxkit.clock import Clock, Sleeper
from sandboxkit.faults import (
    FaultConfig,
    FaultInjector,
    FaultUpdate,
    apply_global,
    apply_override,
)
from sandboxkit.requestlog import RequestLog

from unthread_sandbox.specs import SeedFile
from unthread_sandbox.state import Store, Tenant


class Sandbox:
    """One sandbox instance. `startup` is what `reset` returns to: its faults always, its
    tenants when asked to reseed. Faults are the Vitally sandbox's settings; of them, the
    latency, error, outage, slow and rate-limit ones apply here (Unthread calls are reads)."""

    def __init__(
        self,
        *,
        startup: SeedFile,
        clock: Clock,
        sleep: Sleeper,
        random_seed: int | None,
        log_size: int,
    ) -> None:
        self.startup = startup
        self.clock = clock
        self.sleep = sleep
        self.store = Store()
        self.log = RequestLog(log_size)
        self.injector = FaultInjector(random_seed)
        self.faults = FaultConfig()
        self.reset(reseed=True)

    def reset(self, *, reseed: bool) -> None:
        self.store.clear()
        self.log.clear()
        self.injector.reseed()
        self.faults = apply_global(FaultConfig(), self.startup.faults, self.clock.now())
        if reseed:
            for spec in self.startup.tenants:
                self.store.put_tenant(spec)

    def config_for(self, tenant: Tenant | None) -> FaultConfig:
        """The settings in force for `tenant`: its runtime override, then the rate limit it
        was created with, then the global settings."""
        if tenant is None:
            return self.faults
        changes = dict(tenant.fault_override)
        if tenant.rate_limit is not None:
            changes.setdefault("rate_limit", tenant.rate_limit)
        return self.faults.model_copy(update=changes)

    def update_faults(self, update: FaultUpdate) -> FaultConfig:
        self.faults = apply_global(self.faults, update, self.clock.now())
        return self.faults

    def update_tenant_faults(self, tenant: Tenant, update: FaultUpdate) -> FaultConfig:
        tenant.fault_override = apply_override(tenant.fault_override, update, self.clock.now())
        return self.config_for(tenant)
