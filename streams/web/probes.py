"""The worker's HTTP endpoints, served by Faust's web server (port 6066 by default)."""

from __future__ import annotations

from typing import Any

import faust
from faust.web import Request, Response, View

from integrations.store import IntegrationStore
from streams.seam.app_state import tables_recovered


def register_views(app: faust.App, *, integrations: IntegrationStore) -> None:
    @app.page("/ready")
    class Ready(View):
        """Readiness: topics exist, integrations are loaded, tables recovered, no rebalance."""

        async def get(self, request: Request) -> Response:
            checks = {
                "integrations_loaded": integrations.ready.is_set(),
                "tables_recovered": tables_recovered(app),
                "not_rebalancing": not app.rebalancing,
            }
            status = 200 if all(checks.values()) else 503
            body: dict[str, Any] = {"ready": status == 200, "checks": checks}
            return self.json(body, status=status)
