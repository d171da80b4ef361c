"""Which partition a keyed record goes to, as the common Kafka producers choose it.

Faust's producer (aiokafka) and the Java client hash the key with murmur2; librdkafka's
clients (confluent-kafka among them) default to CRC-32. A record the worker produces for a
conversation (an import, a reconciliation) must land where that conversation's webhook
events land, so the worker sends it to the partition the upstream producer would choose
(``INPUT_PARTITIONER``).
"""

from __future__ import annotations

import zlib
from typing import Literal

Partitioner = Literal["murmur2", "crc32"]

_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def key_partition(key: bytes, partitions: int) -> int:
    """The partition Faust's producer (aiokafka's default partitioner) sends `key` to."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (the Java client's ``Utils.murmur2``), as an unsigned 32-bit value."""
    h = (0x9747B28C ^ len(data)) & _MASK
    whole = len(data) - len(data) % 4
    for i in range(0, whole, 4):
        k = (int.from_bytes(data[i : i + 4], "little") * _M) & _MASK
        k = ((k ^ (k >> 24)) * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    if whole < len(data):
        # The Java switch's fall-through XORs the 1-3 trailing bytes in, little-endian.
        h = ((h ^ int.from_bytes(data[whole:], "little")) * _M) & _MASK
    h = ((h ^ (h >> 13)) * _M) & _MASK
    return h ^ (h >> 15)


def crc32_partition(key: bytes, partitions: int) -> int:
    """The partition librdkafka's default partitioner (``consistent_random``) picks for a key."""
    return zlib.crc32(key) % partitions


def partition_for(key: bytes, partitions: int, partitioner: Partitioner) -> int:
    if partitioner == "crc32":
        return crc32_partition(key, partitions)
    return key_partition(key, partitions)
