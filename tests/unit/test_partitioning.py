"""The partition a conversation's own events go to: murmur2 (Faust's, Java's producers) or
CRC-32 (librdkafka's default), as `INPUT_PARTITIONER` says the upstream producer does."""

from __future__ import annotations

import zlib

import pytest

from schemas.partitioning import key_partition, partition_for


@pytest.mark.parametrize("key", [b"c-1", b"26884dc8-0000-4000-8000-000000000001", b"x" * 300])
def test_each_partitioner_is_the_producers_own(key: bytes) -> None:
    for partitions in (1, 4, 12):
        assert partition_for(key, partitions, "murmur2") == key_partition(key, partitions)
        assert partition_for(key, partitions, "crc32") == zlib.crc32(key) % partitions
        assert 0 <= partition_for(key, partitions, "crc32") < partitions


def test_the_two_differ_for_some_keys() -> None:
    # Why the setting exists: with 8 partitions, most keys land elsewhere under the other one.
    keys = [f"conv-{n}".encode() for n in range(100)]
    moved = [k for k in keys if partition_for(k, 8, "crc32") != partition_for(k, 8, "murmur2")]
    assert len(moved) > 50
