"""The running sandbox: its store, settings, clock and dice, shared by every route.

Each sandbox subclasses `BaseSandbox` with its store and how to seed it; the rest (reset,
the fault settings in force for a tenant) is the same for all.
"""

from __future__ import annotations

from typing import Any, Generic, Protocol, TypeVar

from sandboxkit.clock import Clock, Sleeper
from sandboxkit.faults import (
    FaultConfig,
    FaultInjector,
    FaultUpdate,
    apply_global,
    apply_override,
)
from sandboxkit.requestlog import RequestLog


class Tenant(Protocol):
    """What the runtime reads of a tenant (a Vitally org, an Unthread workspace)."""

    fault_override: dict[str, Any]
    rate_limit: int | None


class Store(Protocol):
    def clear(self) -> None: ...


class Seed(Protocol):
    @property
    def faults(self) -> FaultUpdate: ...


StoreT = TypeVar("StoreT", bound=Store)
TenantT = TypeVar("TenantT", bound=Tenant)
SeedT = TypeVar("SeedT", bound=Seed)


class BaseSandbox(Generic[StoreT, TenantT, SeedT]):
    """One sandbox instance. `startup` is what `reset` returns to: its faults always, its
    tenants when asked to reseed."""

    def __init__(
        self,
        *,
        startup: SeedT,
        clock: Clock,
        sleep: Sleeper,
        random_seed: int | None,
        log_size: int,
    ) -> None:
        self.startup = startup
        self.clock = clock
        self.sleep = sleep
        self.store = self.new_store()
        self.log = RequestLog(log_size)
        self.injector = FaultInjector(random_seed)
        self.faults = FaultConfig()
        self.reset(reseed=True)

    def new_store(self) -> StoreT:
        raise NotImplementedError

    def seed(self) -> None:
        """Put the start-up seed's tenants in the (cleared) store."""
        raise NotImplementedError

    def reset(self, *, reseed: bool) -> None:
        self.store.clear()
        self.log.clear()
        self.injector.reseed()
        self.faults = apply_global(FaultConfig(), self.startup.faults, self.clock.now())
        if reseed:
            self.seed()

    def config_for(self, tenant: TenantT | None) -> FaultConfig:
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

    def update_tenant_faults(self, tenant: TenantT, update: FaultUpdate) -> FaultConfig:
        tenant.fault_override = apply_override(tenant.fault_override, update, self.clock.now())
        return self.config_for(tenant)
