"""The worker's probes, served by Faust's web server (port 6066 by default).

* ``/ready``: whether this worker can serve the tenant API and take part in the group. A
  rebalance does not make it unready: every worker rebalances at once, and a readiness that
  failed then would take every pod out of its Service together (the tenant API works
  throughout; records simply wait for the new assignment). Table recovery counts only at
  start: a worker is ready once its first assignment's tables are recovered.
* ``/live``: whether the worker makes progress (:mod:`streams.liveness`); a restart is the
  cure when it does not.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import faust
from faust.web import Request, Response, View

from integrations.store import IntegrationStore
from streams.liveness import Liveness
from streams.seam.app_state import tables_recovered


def register_views(
    app: faust.App,
    *,
    integrations: IntegrationStore,
    liveness: Liveness,
    fenced: Callable[[], str | None] = lambda: None,
) -> None:
    started = _Latch(lambda: tables_recovered(app))

    @app.page("/ready")
    class Ready(View):
        """Readiness: topics exist, integrations are loaded, the first assignment's tables
        recovered, SECRETS_KEY decrypts the stored keys, not fenced. Tenants needing attention
        (a rejected key, or one this worker cannot decrypt) are counted, by reason, never named
        (the probe needs no token); they alone do not fail readiness; nor does a rebalance
        (reported in ``rebalancing``)."""

        async def get(self, request: Request) -> Response:
            checks = {
                "integrations_loaded": integrations.ready.is_set(),
                "started": started(),
                "secrets_key_decrypts": not integrations.secrets_key_decrypts_none(),
                "not_fenced": (fenced_as := fenced()) is None,
            }
            status = 200 if all(checks.values()) else 503
            body: dict[str, Any] = {"ready": status == 200, "checks": checks}
            body["rebalancing"] = bool(app.rebalancing)
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

    @app.page("/live")
    class Live(View):
        """Liveness: the event loop runs our timers and the consumer makes progress."""

        async def get(self, request: Request) -> Response:
            body = liveness.report()
            return self.json(body, status=200 if body["live"] else 503)


class _Latch:
    """True from the first time ``condition`` holds."""

    def __init__(self, condition: Callable[[], bool]) -> None:
        self._condition = condition
        self._held = False

    def __call__(self) -> bool:
        self._held = self._held or self._condition()
        return self._held


def _needing_attention(integrations: IntegrationStore) -> dict[str, Any]:
    reasons = Counter(integrations.needing_attention().values())
    return {
        "tenantsNeedingAttentionCount": sum(reasons.values()),
        "tenantsNeedingAttentionByReason": dict(sorted(reasons.items())),
    }
