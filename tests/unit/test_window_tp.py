"""PartitionWindow hands Faust its own TP type, whatever type the record's tp was."""

from __future__ import annotations

from aiokafka.structs import TopicPartition
from faust.types import TP

from streams.seam.flow import PartitionWindow


def test_pause_and_resume_get_faust_tps_for_aiokafka_topic_partitions() -> None:
    # Faust's records carry aiokafka's TopicPartition; Faust's resume_partitions puts what
    # it gets into its active set as is, and its fetcher asserts they are all TP instances.
    tp = TopicPartition("in", 0)
    in_flight = {tp: 2}
    calls: list[tuple[str, list[object]]] = []
    window = PartitionWindow(
        2, in_flight=lambda t: in_flight[t], pause=lambda tps: calls.append(("pause", list(tps))),
        resume=lambda tps: calls.append(("resume", list(tps))), may_resume=lambda: True,
    )  # fmt: skip
    window.admitted(tp)
    in_flight[tp] = 1
    window.finished(tp)
    assert [name for name, _ in calls] == ["pause", "resume"]
    for _, tps in calls:
        assert tps == [TP("in", 0)] and all(type(t) is TP for t in tps)
