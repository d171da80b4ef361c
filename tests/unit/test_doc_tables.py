"""docs/interfaces.md's environment and metric tables are generated from the code and current."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter

from ops.settings import ReaderSettings
from streams.doc_tables import DOC, REGENERATE, environment_table, metrics_table, render
from streams.metrics import Metrics
from streams.settings import Settings
from streams.web.guard import OPEN_PATHS

ROOT = Path(__file__).resolve().parents[2]


def test_the_doc_is_generated_from_the_code() -> None:
    text = DOC.read_text()
    assert render(text) == text, f"docs/interfaces.md is stale; run: {REGENERATE}"


def test_every_setting_says_what_it_does() -> None:
    undescribed = [name for name, field in Settings.model_fields.items() if not field.description]
    assert undescribed == []


def test_every_variable_has_its_row_with_its_default() -> None:
    table = environment_table()
    for name in Settings.model_fields:
        assert f"| `{name.upper()}`" in table, name
    assert "| `LEAVE_GROUP_ON_SHUTDOWN` | `false` |" in table  # the default the code has
    assert "| `WEB_PORT` (or `PORT`) | `6066` |" in table
    assert "`KAFKA_BOOTSTRAP_SERVERS` (or `KAFKA_URL`)" in table


def test_the_readers_share_the_workers_names_and_defaults() -> None:
    # The audit tools read a subset of the same variables: one table documents both.
    for name, field in ReaderSettings.model_fields.items():
        assert Settings.model_fields[name].default == field.default, name


def test_every_metric_of_the_registry_is_listed_as_exposed() -> None:
    metrics = Metrics(CollectorRegistry())
    table = metrics_table()
    assert "`vitally_sync_audit_records_total` | counter | `outcome`, `reason` |" in table
    assert "`vitally_sync_consumer_lag` | gauge | `topic`, `partition` |" in table
    for wrapper in vars(metrics).values():
        if hasattr(wrapper, "describe"):
            assert f"`{wrapper.describe()[0].name}" in table


def test_a_metric_added_to_metrics_is_listed_without_editing_the_generator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = Metrics.__init__

    def with_one_more(self: Metrics, registry: CollectorRegistry) -> None:
        original(self, registry)
        self.extra = Counter(  # type: ignore[attr-defined]
            "vitally_sync_new_things", "New things", ["kind"], registry=registry
        )

    monkeypatch.setattr(Metrics, "__init__", with_one_more)
    assert "| `vitally_sync_new_things_total` | counter | `kind` | New things |" in metrics_table()


def test_the_open_paths_the_docs_name_are_the_guards() -> None:
    # The HTTP API's authentication paragraph, and the README's: no path left out or added.
    for doc, start in ((DOC, "Only `GET` and `HEAD` of"), (ROOT / "README.md", "only `GET` (and")):
        sentence = doc.read_text().split(start, 1)[1].split(" open", 1)[0]
        assert set(re.findall(r"`(/[a-z]*)`", sentence)) == OPEN_PATHS, doc.name
