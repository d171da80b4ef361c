"""Metric names as a scrape shows them, as the docs list them, and as PromQL names them: what
the tests comparing docs, alert rules and the dashboard with the code need."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric

from streams.metrics import Metrics, Readings

ROOT = Path(__file__).resolve().parents[1]
OURS = "vitally_sync_"

# PromQL words that are not metric names: aggregations and functions are followed by "(",
# these are not always.
_KEYWORDS = frozenset({"and", "or", "unless", "bool", "offset", "by", "without", "on",
                       "ignoring", "group_left", "group_right", "inf", "nan"})  # fmt: skip
_HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")


def registered() -> dict[str, str]:
    """Every metric of ours the worker registers, by scraped name, with its type."""
    metrics = Metrics(CollectorRegistry())
    metrics.watch(
        Readings(
            parked_by_reason=dict,
            waiting_age_by_reason=dict,
            in_flight=lambda: 0,
            lag=dict,
            lag_seconds=dict,
            integrations_by_status=dict,
        )  # fmt: skip
    )
    return scraped(metrics.registry.collect())


def scraped(families: Iterable[Metric]) -> dict[str, str]:
    """Our families by the name a scrape shows: a counter's with ``_total``; a histogram's
    own (its series add ``_bucket``, ``_sum``, ``_count``); ``_created`` series left out."""
    found = {f.name: f.type for f in families if f.name.startswith(OURS)}
    # The text parser shows a counter's or histogram's creation time as a gauge of its own.
    return {
        name + ("_total" if kind == "counter" else ""): kind
        for name, kind in found.items()
        if not (name.endswith("_created") and found.get(name.removesuffix("_created")))
    }


def series(names: dict[str, str]) -> set[str]:
    """The series names an expression may use for ``names``."""
    found = set(names)
    for name, kind in names.items():
        if kind == "histogram":
            found |= {name + s for s in _HISTOGRAM_SERIES}
    return found


def documented(path: Path) -> set[str]:
    """The metric names in the first column of a Markdown table (rows naming ours)."""
    names = set()
    for line in path.read_text().splitlines():
        cells = line.strip().split("|")
        if len(cells) > 2 and OURS in cells[1]:
            names |= set(re.findall(r"`(vitally_sync_\w+)`", cells[1]))
    return names


def promql_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: identifiers outside strings, label
    matchers, ranges and grouping lists, that are neither calls nor keywords."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', "", expr)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w$.])([a-zA-Z_:][\w:]*)(\s*\()?", text):
        word, call = match.group(1), match.group(2)
        if not call and word.lower() not in _KEYWORDS:
            names.add(word)
    return names
