"""Faust's own topics (each table's changelog, and its leader-election topic), described as
Faust would create them, so the worker can make them before Faust starts
(:func:`streams.topics.ensure_faust_topics`).

Faust makes these itself a moment before its consumer joins the group. When the broker's
metadata does not show a topic yet at the join, Faust's assignor leaves it out ("Ignoring
missing topic"), and with static membership that assignment is handed back to every
restarted worker without a rebalance: a table whose changelog is in no assignment is never
recovered after a restart, so what it held (parked events) is not seen again until the group
rebalances. A worker whose assignment shows it still says so (:func:`unassigned_changelogs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import cast

import faust
from faust.assignor import LeaderAssignor
from faust.types import TP, TopicT


@dataclass(frozen=True)
class FaustTopic:
    name: str
    partitions: int
    config: dict[str, str]


def faust_topics(app: faust.App) -> list[FaustTopic]:
    """The topics Faust declares for ``app`` once started, with the config it would give."""
    topics: list[TopicT] = [table.changelog_topic for table in app.tables.values()]
    if not app.conf.topic_disable_leader:
        leader = cast(LeaderAssignor, app._leader_assignor)  # noqa: SLF001 - in the seam's list
        topics.append(leader._leader_topic)  # noqa: SLF001
    return [
        FaustTopic(
            name=topic.get_topic_name(),
            partitions=topic.partitions or app.conf.topic_partitions,
            config=_config(topic),
        )
        for topic in topics
    ]


def _config(topic: TopicT) -> dict[str, str]:
    # As faust.transport.drivers.aiokafka.Producer's create_topic and _topic_config build it.
    config: dict[str, str] = {}
    flags = (("compact", topic.compacting), ("delete", topic.deleting))
    policy = [flag for flag, on in flags if on]
    if policy:
        config["cleanup.policy"] = ",".join(policy)
    if topic.retention:
        retention = topic.retention
        seconds = retention.total_seconds() if isinstance(retention, timedelta) else retention
        config["retention.ms"] = str(int(float(seconds) * 1000.0))
    config.update({key: str(value) for key, value in (topic.config or {}).items()})
    return config


def unassigned_changelogs(app: faust.App, assigned: set[TP], input_topic: str) -> list[str]:
    """``topic/partition`` of each table changelog partition that should come with an input
    partition of ``assigned`` (tables are co-partitioned with it) but does not: that table
    starts empty here instead of recovered."""
    inputs = sorted(tp.partition for tp in assigned if tp.topic == input_topic)
    have = {(tp.topic, tp.partition) for tp in assigned}
    changelogs = [table.changelog_topic_name for table in app.tables.values()]
    return [f"{c}/{p}" for c in changelogs for p in inputs if (c, p) not in have]
