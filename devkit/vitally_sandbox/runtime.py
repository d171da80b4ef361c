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

from vitally_sandbox.specs import SeedFile
from vitally_sandbox.state import Org, Store


class Sandbox:
    """One sandbox instance. `startup` is what `reset` returns to: its faults always, its
    orgs when asked to reseed."""

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
            for spec in self.startup.orgs:
                self.store.put_org(spec, self.clock.now())

    def config_for(self, org: Org | None) -> FaultConfig:
        """The settings in force for `org`: its runtime override, then the rate limit it was
        created with, then the global settings."""
        if org is None:
            return self.faults
        changes = dict(org.fault_override)
        if org.rate_limit is not None:
            changes.setdefault("rate_limit", org.rate_limit)
        return self.faults.model_copy(update=changes)

    def update_faults(self, update: FaultUpdate) -> FaultConfig:
        self.faults = apply_global(self.faults, update, self.clock.now())
        return self.faults

    def update_org_faults(self, org: Org, update: FaultUpdate) -> FaultConfig:
        org.fault_override = apply_override(org.fault_override, update, self.clock.now())
        return self.config_for(org)
