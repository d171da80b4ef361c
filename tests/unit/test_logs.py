"""The worker's log lines: JSON or text, and the record's fields on every line about it."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import logging.config

import pytest

from streams.logs import bind_event, json_output, logging_config


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def configured(fmt: str, stream: io.StringIO) -> logging.Logger:
    config = logging_config("json" if fmt == "json" else "text")
    config.pop("merge")
    config["handlers"]["default"]["stream"] = stream
    config["root"] = {"level": "INFO", "handlers": ["default"]}
    logging.config.dictConfig(config)
    return logging.getLogger("vitally_sync.test")


@pytest.fixture(autouse=True)
def restore_logging() -> object:
    handlers, level = list(logging.root.handlers), logging.root.level
    yield None
    logging.root.handlers[:] = handlers
    logging.root.setLevel(level)


def test_auto_is_json_unless_the_output_is_a_terminal() -> None:
    assert json_output("auto", io.StringIO()) is True
    assert json_output("auto", Terminal()) is False
    assert json_output("text", io.StringIO()) is False
    assert json_output("json", Terminal()) is True


async def test_every_line_about_a_record_carries_its_fields_in_json() -> None:
    out = io.StringIO()
    log = configured("json", out)

    async def handle(offset: int) -> None:
        bind_event(topic="in", partition=3, offset=offset)
        bind_event(tenant="T01ACME", conversation=f"c-{offset}")
        log.warning("vitally call failed, retrying", extra={"reason": "vitally_timeout"})

    # Each record in a task of its own, as the agent's lanes run them: no mixing.
    await asyncio.gather(handle(7), handle(8))
    log.info("not about a record")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(p["offset"], p["conversation"]) for p in lines[:2]] == [(7, "c-7"), (8, "c-8")]
    assert all(p["topic"] == "in" and p["reason"] == "vitally_timeout" for p in lines[:2])
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    assert "offset" not in lines[2]


def test_text_lines_keep_the_extra_fields() -> None:
    out = io.StringIO()
    configured("text", out).error("tenant needs attention", extra={"tenant": "T01ACME"})
    line = out.getvalue().strip()
    assert "tenant needs attention" in line and "tenant=T01ACME" in line
    assert not line.startswith("{")
