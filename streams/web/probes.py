"""The worker's HTTP endpoints, served by Faust's web server (port 6066 by default)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import faust
from faust.web import Request, Response, View

from integrations.store import IntegrationStore
from streams.seam.app_state import tables_recovered


def register_views(
    app: faust.App,
    *,
    integrations: IntegrationStore,
    fenced: Callable[[], str | None] = lambda: None,
) -> None:
    @app.page("/ready")
    class Ready(View):
        """Readiness: topics exist, integrations are loaded, tables recovered, no rebalance,
        and SECRETS_KEY decrypts the stored keys. Tenants needing attention (a rejected key,
        or one this worker cannot decrypt) are counted, by reason, never named (the probe
        needs no token); they alone do not fail readiness."""

        async def get(self, request: Request) -> Response:
            checks = {
                "integrations_loaded": integrations.ready.is_set(),
                "tables_recovered": tables_recovered(app),
                "not_rebalancing": not app.rebalancing,
                "secrets_key_decrypts": not integrations.secrets_key_decrypts_none(),
                "not_fenced": (fenced_as := fenced()) is None,
            }
            status = 200 if all(checks.values()) else 503
            body: dict[str, Any] = {"ready": status == 200, "checks": checks}
            body.update(_needing_attention(integrations))
            if fenced_as is not None:
                body["error"] = "worker_fenced"
                body["message"] = (
                    f"another worker joined with WORKER_ID={fenced_as}; Kafka fenced this one "
                    "and it stops: give every worker its own WORKER_ID"
                )
            elif not checks["secrets_key_decrypts"]:
                body["message"] = (
                    f"SECRETS_KEY decrypts none of the {len(integrations.tenants())} stored "
                    "tenant keys: run the worker with the SECRETS_KEY that encrypted them"
                )
            return self.json(body, status=status)


def _needing_attention(integrations: IntegrationStore) -> dict[str, Any]:
    reasons = Counter(integrations.needing_attention().values())
    return {
        "tenantsNeedingAttentionCount": sum(reasons.values()),
        "tenantsNeedingAttentionByReason": dict(sorted(reasons.items())),
    }
