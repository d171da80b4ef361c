"""What a processor knows about the tenant an event belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from unthread.target import UnthreadTarget
from vitally.target import VitallyTarget


@dataclass(frozen=True)
class TenantContext:
    """A connected tenant: where its Vitally is, and the fallback admin for conversations."""

    tenant_id: str
    target: VitallyTarget
    default_admin_email: str
    connected_at: datetime
    # Where what sparse events leave out is looked up; None without an Unthread key.
    unthread: UnthreadTarget | None = None
