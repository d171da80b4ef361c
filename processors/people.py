"""Who a Vitally conversation or message is from and to, matched by email.

Customers are Vitally users, support teammates are Vitally admins; nobody is created. The
conversation's admin is the assigned teammate when Vitally knows them as an active admin,
else the tenant's Default Admin.
"""

from __future__ import annotations

from processors.direction import normalise_email
from processors.protocols import Directory
from processors.tenant import TenantContext
from schemas.vitally import VitallyAdmin


async def conversation_admin(
    directory: Directory, tenant: TenantContext, assignee_email: str | None
) -> VitallyAdmin | None:
    assignee = normalise_email(assignee_email)
    if assignee:
        admin = await directory.admin(tenant.target, assignee)
        if admin is not None and admin.is_active:
            return admin
    return await directory.admin(tenant.target, tenant.default_admin_email)
