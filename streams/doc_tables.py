"""The tables of docs/interfaces.md that the code defines: the environment and the metrics.

Each is rendered from its source (the settings classes' fields and descriptions; the metrics
our registry holds) between two markers, so the doc cannot drift from the code:
``python -m streams.doc_tables`` rewrites them in place, and tests/unit/test_doc_tables.py
fails while they differ.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from prometheus_client import CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase
from pydantic import AliasChoices, SecretStr
from pydantic.fields import FieldInfo

from streams.metrics import Metrics, Readings
from streams.settings import Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "interfaces.md"
REGENERATE = "python -m streams.doc_tables"
_BEGIN = "<!-- generated: {name} (" + REGENERATE + "); do not edit by hand -->"
_END = "<!-- end of generated: {name} -->"


def environment_table() -> str:
    rows = ["| variable | default | bounds | meaning |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        variable = f"`{name.upper()}`"
        aliases = _aliases(name, field)
        if aliases:
            variable += " (or " + ", ".join(f"`{a}`" for a in aliases) + ")"
        rows.append(f"| {variable} | {_default(field)} | {_bounds(field)} | {field.description} |")
    return "\n".join(rows)


def _aliases(name: str, field: FieldInfo) -> list[str]:
    alias = field.validation_alias
    if not isinstance(alias, AliasChoices):
        return []
    return [str(choice).upper() for choice in alias.choices if choice != name]


def _default(field: FieldInfo) -> str:
    extra = field.json_schema_extra
    if isinstance(extra, dict) and "shown_default" in extra:
        return str(extra["shown_default"])
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        return "computed at start"
    value = field.default
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value)}`"
    return f"`{value}`"


def _bounds(field: FieldInfo) -> str:
    said = []
    if get_origin(field.annotation) is Literal:
        said.append(", ".join(f"`{choice}`" for choice in get_args(field.annotation)))
    if field.annotation is bool:
        said.append("`true` or `false`")
    # pydantic keeps Field(ge=..., max_length=...) as one constraint object per keyword.
    words = {
        "ge": "at least {}",
        "gt": "above {}",
        "le": "at most {}",
        "lt": "below {}",
        "min_length": "at least {} characters",
        "max_length": "at most {} characters",
    }
    for constraint in field.metadata:
        said += [
            template.format(_number(getattr(constraint, key)))
            for key, template in words.items()
            if hasattr(constraint, key)
        ]
    if field.annotation in (SecretStr, SecretStr | None):
        said.append("secret")
    return ", ".join(said)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class _Nothing(dict[Any, Any]):
    """What a gauge reads when documented: no series, whatever shape it expects."""

    def __float__(self) -> float:
        return 0.0


def metrics_table() -> str:
    """Every metric our registry holds (not Faust's sensors), as ``/metrics`` exposes it."""
    metrics = Metrics(CollectorRegistry())
    nothing: dict[str, Any] = {f.name: _Nothing for f in dataclasses.fields(Readings)}
    metrics.watch(Readings(**nothing))
    labels = {
        next(iter(wrapper.describe())).name: wrapper._labelnames  # noqa: SLF001 - no accessor
        for wrapper in vars(metrics).values()
        if isinstance(wrapper, MetricWrapperBase)
    }
    rows = ["| metric (as exposed) | type | labels | what |", "|---|---|---|---|"]
    for family in metrics.registry.collect():
        names = getattr(family, "_labelnames", None) or labels.get(family.name, ())
        shown = ", ".join(f"`{label}`" for label in names)
        rows.append(f"| {_exposed(family.name, family.type)} | {family.type} | {shown} | "
                    f"{family.documentation} |")  # fmt: skip
    return "\n".join(rows)


def _exposed(name: str, kind: str) -> str:
    if kind == "counter":
        return f"`{name}_total`"
    if kind == "histogram":
        return f"`{name}` (scraped as `_bucket`, `_sum`, `_count`)"
    return f"`{name}`"


TABLES: dict[str, Callable[[], str]] = {"environment": environment_table, "metrics": metrics_table}


def render(text: str) -> str:
    """``text`` (docs/interfaces.md) with every generated table rendered anew."""
    for name, table in TABLES.items():
        begin, end = _BEGIN.format(name=name), _END.format(name=name)
        pattern = re.compile(re.escape(begin) + r"\n(?:.*?\n)?" + re.escape(end), re.DOTALL)
        if not pattern.search(text):
            raise ValueError(f"docs/interfaces.md lacks the markers of the {name} table")
        text = pattern.sub(lambda _: f"{begin}\n{table()}\n{end}", text)  # noqa: B023
    return text


if __name__ == "__main__":
    DOC.write_text(render(DOC.read_text()))
    sys.exit(0)
