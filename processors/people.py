"""Who a Vitally conversation or message is from and to, matched by email.

Customers are Vitally users, support teammates are Vitally admins; nobody is created. The
conversation's admin is the assigned teammate when Vitally knows them as an active admin,
else the tenant's Default Admin. Several Vitally users with one email are told apart by the
rule in :func:`vitally.client.pick_user`; the audit record's detail says when it was used.
"""

from __future__ import annotations

from dataclasses import dataclass

from processors.direction import normalise_email
from processors.protocols import Directory
from processors.tenant import TenantContext
from schemas.audit import Reason
from schemas.vitally import Participant, VitallyAdmin, VitallyUser


async def conversation_admin(
    directory: Directory, tenant: TenantContext, assignee_email: str | None
) -> VitallyAdmin | None:
    assignee = normalise_email(assignee_email)
    if assignee:
        admin = await directory.admin(tenant.target, assignee)
        if admin is not None and admin.is_active:
            return admin
    return await directory.admin(tenant.target, tenant.default_admin_email)


def chosen_user(user: VitallyUser | None) -> str | None:
    """The audit detail saying the customer was one of several Vitally users with their email,
    and which was taken; None when the email named one user."""
    if user is None or user.same_email <= 1:
        return None
    return f"users_with_email={user.same_email} chose={user.id} (active, oldest, lowest id)"


@dataclass(frozen=True)
class Missing:
    """Someone a write needs is not in Vitally (yet): why the event waits, and who."""

    reason: Reason
    email: str


@dataclass(frozen=True)
class Route:
    """Who a conversation's first message or a reply is from, and to."""

    author: Participant
    recipient: Participant


async def customer(
    directory: Directory, tenant: TenantContext, email: str
) -> VitallyUser | Missing:
    """The customer's Vitally user, by their email."""
    user = await directory.user(tenant.target, email)
    return user if user is not None else Missing("customer_not_in_vitally", email)


def from_customer(user_id: str, admin_id: str) -> Route:
    return Route(Participant(type="user", id=user_id), Participant(type="admin", id=admin_id))


async def from_teammate(
    directory: Directory, tenant: TenantContext, email: str, customer_id: str | None
) -> Route | Missing:
    """A teammate's message to the customer: from their Vitally admin, by their email, to the
    customer's user (without one, nobody to address it to)."""
    admin = await directory.admin(tenant.target, email)
    if admin is None or customer_id is None:
        return Missing("teammate_not_in_vitally", email)
    return Route(Participant(type="admin", id=admin.id), Participant(type="user", id=customer_id))
