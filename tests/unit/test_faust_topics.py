"""Faust's own topics as the worker makes them before Faust starts, and the check of an
assignment that left a table's changelog out (streams/seam/faust_topics.py)."""

from __future__ import annotations

from datetime import timedelta

import faust
from faust.types import TP

from streams.seam.faust_topics import FaustTopic, faust_topics, unassigned_changelogs
from tests.unit.test_faust_environment import worker_app


def test_the_topics_are_faust_own_description_of_them() -> None:
    app = worker_app(app_id="vs", input_topic="vs.in")  # 4 input partitions
    assert faust_topics(app) == [
        FaustTopic("vs-conversations-changelog", 4, {"cleanup.policy": "compact"}),
        FaustTopic("vs-waiting-changelog", 4, {"cleanup.policy": "compact"}),
        FaustTopic("vs-__assignor-__leader", 1, {}),
    ]


def test_a_windowed_or_configured_changelog_keeps_its_retention_and_settings() -> None:
    app = faust.App("w", broker="kafka://127.0.0.1:1", topic_partitions=2)
    app.Table("t", extra_topic_configs={"segment.ms": 600000}, partitions=3).tumbling(
        timedelta(minutes=1), expires=timedelta(hours=1)
    )
    [table, _leader] = faust_topics(app)
    assert table.partitions == 3
    assert table.config == {
        "cleanup.policy": "compact,delete",
        "retention.ms": str(3_600_000),
        "segment.ms": "600000",
    }


def test_an_assignment_without_a_tables_changelog_partition_is_named() -> None:
    app = worker_app(app_id="vs", input_topic="vs.in")
    whole = {TP("vs.in", 1), TP("vs.retry", 1), TP("vs-__assignor-__leader", 0)} | {
        TP(f"vs-{table}-changelog", 1) for table in ("conversations", "waiting")
    }
    assert unassigned_changelogs(app, whole, "vs.in") == []
    assert unassigned_changelogs(app, whole - {TP("vs-waiting-changelog", 1)}, "vs.in") == [
        "vs-waiting-changelog/1"
    ]
    # Standby partitions of other input partitions are no input of this worker's.
    assert unassigned_changelogs(app, {TP("vs-waiting-changelog", 3)}, "vs.in") == []
