"""The one place that relies on Faust's and aiokafka's internals (docs/faust-pitfalls.md).

Everything here works around a Faust behaviour that would otherwise lose or duplicate records:

* :mod:`.commits`: the offset Faust commits is the one after the last record the agent
  finished in order, never what Faust acked on its own;
* :mod:`.changelog`: a record's table changes can be awaited before it is acked;
* :mod:`.flow`: a partition's fetching pauses without dropping what was already fetched;
* :mod:`.continuity`, :mod:`.probe`, :mod:`.start_offsets`: no offset is passed over;
* :mod:`.web`: the guard middleware goes in front of every page of Faust's web server;
* :mod:`.membership`: static group membership (a restarted member's handed-back
  assignment, a fenced member, leaving the group on shutdown);
* :mod:`.stop`: a SIGTERM waits for the rebalance under way before the worker stops;
* :mod:`.sealed`: Faust's settings read no environment variable, only what we pass;
* :mod:`.faust_topics`: Faust's own topics exist before its consumer joins the group.

The names below are not Faust's public API. Importing this package checks each of them, so a
Faust or aiokafka release that renames one fails the worker at start, loudly, instead of
silently changing what is committed. The versions they were verified with are pinned in
pyproject.toml. Tests drive every overridden method through real Faust objects, with only the
Kafka client under them stood in for (tests/unit/test_changelog_table.py, test_consumer.py,
test_flow.py, test_sync_agent.py) or a real broker (tests/e2e/test_seam_on_broker.py);
tests/unit/test_seam_guard.py checks this list.
"""

from __future__ import annotations

import inspect

import faust
from aiokafka.consumer.group_coordinator import GroupCoordinator
from faust.assignor import LeaderAssignor, PartitionAssignor
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types.settings import Settings as FaustSettings
from faust.web.drivers import aiohttp as faust_aiohttp
from faust.worker import Worker

# class -> the internal attributes and methods the seam reads, calls or overrides.
INTERNALS: dict[type, tuple[str, ...]] = {
    faust_aiokafka.Consumer: (
        "_new_offset",  # overridden: the one place acks become the offset to commit
        "_acked",
        "_acked_index",
        "_gap",
        "_read_offset",
        "seek_wait",
        "on_buffer_full",
        "on_buffer_drop",
        "highwaters",
    ),
    faust_aiokafka.Transport: ("Consumer",),
    faust.Table: (
        "send_changelog",  # overridden: collects a record's changelog writes
        "_verify_source_topic_partitions",  # overridden: 0 partitions is "not known yet"
    ),
    faust.App: ("rebalancing", "transport", "consumer", "_leader_assignor"),
    # faust_topics.py: the leader-election topic Faust declares.
    LeaderAssignor: ("_leader_topic",),
    faust_aiohttp.Web: ("web_app",),
    # membership.py: wrapped, and read by the wrappers.
    GroupCoordinator: (
        "_maybe_leave_group",
        "_push_error_to_user",
        "_do_heartbeat",
        "_group_instance_id",
        "_closing",
        "_send_req",
        "reset_generation",
    ),
    Worker: ("_stop_on_signal",),  # stop.py: wrapped
    # sealed.py: the mapping Faust's settings read their variables from.
    FaustSettings: ("env", "_init_env_prefix", "getenv"),
    # membership.py: StaticMemberAssignor.on_assignment is Faust's, minus one check.
    PartitionAssignor: (
        "on_assignment",
        "_decompress",
        "_table_manager",
        "_url",
        "_assignment",
        "_topic_groups",
        "_active_tps",
        "_standby_tps",
    ),
}


def missing_internals(internals: dict[type, tuple[str, ...]] = INTERNALS) -> list[str]:
    """``Class.name`` for every name a class no longer has: as a class attribute, an
    annotation, or an instance attribute its code assigns (``self.name =``)."""
    return [
        f"{cls.__module__}.{cls.__qualname__}.{name}"
        for cls, names in internals.items()
        for name in names
        if not _defines(cls, name)
    ]


def _defines(cls: type, name: str) -> bool:
    if hasattr(cls, name):
        return True
    for base in cls.__mro__:
        if name in getattr(base, "__annotations__", {}):
            return True
        try:
            source = inspect.getsource(base)
        except (OSError, TypeError):  # builtins and classes made at run time have none
            continue
        if f"self.{name} =" in source or f"self.{name}: " in source:
            return True
    return False


def _require() -> None:
    missing = missing_internals()
    if missing:
        raise ImportError(
            f"this Faust release lacks what streams/seam relies on: {', '.join(missing)}"
        )


_require()
