"""The worker's HTTP endpoints, served by Faust's web server (port 6066 by default)."""

from __future__ import annotations

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
        """Readiness: topics exist, integrations are loaded, tables recovered, no rebalance."""

        async def get(self, request: Request) -> Response:
            checks = {
                "integrations_loaded": integrations.ready.is_set(),
                "tables_recovered": tables_recovered(app),
                "not_rebalancing": not app.rebalancing,
                "not_fenced": (fenced_as := fenced()) is None,
            }
            status = 200 if all(checks.values()) else 503
            body: dict[str, Any] = {"ready": status == 200, "checks": checks}
            if fenced_as is not None:
                body["error"] = "worker_fenced"
                body["message"] = (
                    f"another worker joined with WORKER_ID={fenced_as}; Kafka fenced this one "
                    "and it stops: give every worker its own WORKER_ID"
                )
            return self.json(body, status=status)
