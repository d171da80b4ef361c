"""Fault and behaviour settings, and the seeded dice that decide each request's fate.

* FaultConfig   the full settings in force (global, or an org's effective view)
* FaultUpdate   a partial change, as sent to `PUT /_sandbox/faults` or given in a seed file
* FaultInjector rolls a Verdict per request from a FaultConfig with its own seeded RNG

The duplicate policies and the rate limit live here too although they are not faults: they
are set the same way (start-up flags, runtime control API, per-org override).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DuplicatePolicy = Literal["create", "reject"]
FailReason = Literal["outage", "error_rate"]

DEFAULT_RATE_LIMIT = 1000


class FaultConfig(BaseModel):
    """Everything that bends the sandbox away from a healthy, fast Vitally."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_ms: float = Field(default=0.0, ge=0.0)
    latency_jitter_ms: float = Field(default=0.0, ge=0.0)
    error_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    error_status: int = Field(default=503, ge=400, le=599)
    outage_until: float | None = None
    ambiguous_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    slow_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    slow_ms: float = Field(default=0.0, ge=0.0)
    rate_limit: int = Field(default=DEFAULT_RATE_LIMIT, ge=1)
    retry_after_header: bool = False
    duplicate_conversations: DuplicatePolicy = "create"
    duplicate_messages: DuplicatePolicy = "create"


class FaultUpdate(BaseModel):
    """A partial FaultConfig. `outage_seconds` is turned into `outage_until` when applied.

    Globally, a field sent as null goes back to its default; in an org override it drops
    the override so the org follows the global value again.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_ms: float | None = Field(default=None, ge=0.0)
    latency_jitter_ms: float | None = Field(default=None, ge=0.0)
    error_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    error_status: int | None = Field(default=None, ge=400, le=599)
    outage_until: float | None = None
    outage_seconds: float | None = Field(default=None, ge=0.0)
    ambiguous_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    slow_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    slow_ms: float | None = Field(default=None, ge=0.0)
    rate_limit: int | None = Field(default=None, ge=1)
    retry_after_header: bool | None = None
    duplicate_conversations: DuplicatePolicy | None = None
    duplicate_messages: DuplicatePolicy | None = None

    def changes(self, now: float) -> dict[str, Any]:
        """The fields this update sets, with `outage_seconds` resolved against `now`."""
        changed = self.model_dump(exclude_unset=True)
        seconds = changed.pop("outage_seconds", None)
        if seconds is not None:
            changed["outage_until"] = now + seconds
        return changed


def apply_global(config: FaultConfig, update: FaultUpdate, now: float) -> FaultConfig:
    defaults = FaultConfig()
    values = config.model_dump()
    for name, value in update.changes(now).items():
        values[name] = getattr(defaults, name) if value is None else value
    return FaultConfig.model_validate(values)


def apply_override(override: dict[str, Any], update: FaultUpdate, now: float) -> dict[str, Any]:
    merged = dict(override)
    for name, value in update.changes(now).items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


@dataclass(frozen=True)
class Verdict:
    """What happens to one request: how long it stalls, and whether it fails or goes ambiguous."""

    delay_s: float = 0.0
    fail_status: int | None = None
    fail_reason: FailReason | None = None
    ambiguous: bool = False


class FaultInjector:
    """Rolls verdicts from a seeded RNG, so the same seed and requests give the same faults."""

    def __init__(self, seed: int | None) -> None:
        self._seed = seed
        self._rng = random.Random(seed)  # noqa: S311 - test dice, not cryptography

    def reseed(self) -> None:
        self._rng = random.Random(self._seed)  # noqa: S311 - test dice, not cryptography

    def decide(self, config: FaultConfig, *, now: float, method: str) -> Verdict:
        delay_ms = config.latency_ms + self._uniform(config.latency_jitter_ms)
        if self._hit(config.slow_rate):
            delay_ms += config.slow_ms
        if config.outage_until is not None and now < config.outage_until:
            return Verdict(delay_ms / 1000, 503, "outage")
        if self._hit(config.error_rate):
            return Verdict(delay_ms / 1000, config.error_status, "error_rate")
        ambiguous = method == "POST" and self._hit(config.ambiguous_rate)
        return Verdict(delay_ms / 1000, ambiguous=ambiguous)

    def _hit(self, rate: float) -> bool:
        # A fault that is off draws no number, so a seeded run's dice depend only on the
        # faults it switched on.
        return rate > 0 and self._rng.random() < rate

    def _uniform(self, span: float) -> float:
        return self._rng.uniform(0.0, span) if span > 0 else 0.0
