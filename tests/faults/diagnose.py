"""When a scenario fails: where each lost or duplicated message was in the input topic, what
the audit says about it, and how far the group committed; written next to the workers' logs."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tests.faults.offsets import end_offsets
from tests.fixtures.kafka import committed_offsets, consume_all
from tests.fixtures.worker import Deployment

READ_TIMEOUT_S = 30.0


def diagnose(deployed: Deployment, message_ids: Iterable[str], into: Path) -> str:
    """``message_ids``: "subdomain/message id" of the messages to trace."""
    traced = {i.partition("/")[2] for i in message_ids}
    where: dict[str, tuple[int, int]] = {}
    for record in consume_all(deployed.bootstrap, deployed.input_topic, READ_TIMEOUT_S):
        message_id = _message_id(record.value)
        if message_id in traced:
            where[message_id] = (record.partition, record.offset)
    audits: dict[tuple[int, int], list[str]] = {}
    rows = []
    for record in consume_all(deployed.bootstrap, deployed.audit_topic, READ_TIMEOUT_S):
        audit = json.loads(record.value or b"{}")
        source = audit.get("source") or {}
        rows.append(
            f"{source.get('topic')}\t{source.get('partition')}\t{source.get('offset')}\t"
            f"{audit.get('processedAt')}\t{audit.get('outcome')}/{audit.get('reason')}\t"
            f"{audit.get('messageId')}"
        )
        if source.get("topic") == deployed.input_topic:
            key = (source["partition"], source["offset"])
            audits.setdefault(key, []).append(f"{audit['outcome']}/{audit['reason']}")
    into.mkdir(parents=True, exist_ok=True)
    (into / "audit.tsv").write_text("\n".join(rows))
    outcomes = Counter(" ".join(audits.get(s, ["(none)"])) for s in where.values())
    lines = [
        f"committed {committed_offsets(deployed.bootstrap, deployed.name, deployed.input_topic)}",
        f"ends      {end_offsets(deployed.bootstrap, deployed.input_topic)}",
        f"traced per partition {sorted(Counter(p for p, _ in where.values()).items())}",
        f"traced audit outcomes {outcomes}",
    ]
    for message_id, (partition, offset) in sorted(where.items(), key=lambda kv: kv[1]):
        lines.append(f"{partition}:{offset} {message_id} audit={audits.get((partition, offset))}")
    text = "\n".join(lines)
    (into / "diagnosis.txt").write_text(text)
    return text


def _message_id(value: bytes | None) -> str | None:
    try:
        event: Any = json.loads(value or b"")
        data = event["data"]
        return str(data["initialMessage"]["id"] if "initialMessage" in data else data["id"])
    except (ValueError, KeyError, TypeError):
        return None
