"""Who a Vitally conversation or message is from and to, matched by email.

Customers are Vitally users, support teammates are Vitally admins; nobody is created. The
conversation's admin is the assigned teammate when Vitally knows them as an active admin,
else the tenant's Default Admin. Several Vitally users with one email are told apart by the
rule in :func:`vitally.client.pick_user`; the audit record's detail says when it was used.
"""

from __future__ import annotations

from processors.direction import normalise_email
from processors.protocols import Directory
from processors.tenant import TenantContext
from schemas.vitally import VitallyAdmin, VitallyUser


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
