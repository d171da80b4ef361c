"""The worker's stable identity: its Kafka static group membership (``group.instance.id``).

With static membership a worker that restarts under the same id takes its partitions back
at once, without a rebalance, as long as it is back within the session timeout. The id must
survive a restart and be unique among the running workers of one group: the platform's name
for the process slot does both (Heroku's ``DYNO``, ``worker.1``; a Kubernetes StatefulSet's
pod name, as ``POD_NAME`` from the downward API or as ``HOSTNAME``), else the host's name.

Two workers with the same id cannot both run: Kafka fences the older one
(``FENCED_INSTANCE_ID``) and it stops (streams/seam/membership.py). Several workers on one
host therefore need ``WORKER_ID`` set each; ``WORKER_ID=`` (empty) turns static membership
off.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

PLATFORM_NAMES = ("DYNO", "POD_NAME", "HOSTNAME")


def default_worker_id(environ: Mapping[str, str] = os.environ) -> str:
    for name in PLATFORM_NAMES:
        value = environ.get(name, "").strip()
        if value:
            return value
    return socket.gethostname()
