"""The control API's and seed files' shapes every sandbox shares.

These shapes are the sandbox's own (not the API's), so they reject unknown fields: a typo in
a test's seed should fail loudly rather than quietly seed the wrong thing.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from sandboxkit.faults import FaultUpdate


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ResetSpec(Spec):
    """Body of `POST /_sandbox/reset`; `reseed` loads the start-up seed's tenants again."""

    reseed: bool = False


class SeedBase(Spec):
    """A seed file: each sandbox adds the tenants to create at start-up; these are the fault
    settings to start with."""

    faults: FaultUpdate = Field(default_factory=FaultUpdate)
