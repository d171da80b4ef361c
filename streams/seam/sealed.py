"""A Faust app that takes its options from us alone, never from the environment.

Faust's settings read about 80 unprefixed environment variables of their own
(``TOPIC_REPLICATION_FACTOR``, ``CONSUMER_AUTO_OFFSET_RESET``, ``PRODUCER_ACKS``,
``APP_DEBUG``, ``WEB_PORT``, ...), and a value found there wins over what the app was given.
Ours share some of those names with other meanings (``TOPIC_REPLICATION_FACTOR=-1`` is valid
for us and crashes Faust), and the others would change delivery or expose Faust's debug pages
without a word. Faust's settings read a mapping they are handed (``env``), defaulting to
``os.environ`` when none is; handing them an empty one leaves only the options below.

Faust's command line reads ``FAUST_DEBUG``/``F_DEBUG`` for ``--debug`` (the blocking detector
and a console port): the worker passes ``--no-debug`` (:data:`WORKER_ROOT_OPTIONS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import faust

# What Faust's settings see as the environment: nothing.
NO_ENVIRONMENT: Mapping[str, str] = MappingProxyType({})
# Faust's root options the worker always passes, before the ``worker`` command.
WORKER_ROOT_OPTIONS = ("--no-debug",)


def sealed_app(app_id: str, **options: Any) -> faust.App:
    """``faust.App(app_id, **options)`` whose settings read no environment variable."""
    return faust.App(app_id, env=NO_ENVIRONMENT, **options)
