"""How the worker logs: one JSON object per line for machines, readable text for people.

The format is set through Faust's own logging config, so Faust's, aiokafka's and our lines
all come out the same way. ``LOG_FORMAT=auto`` (the default) writes JSON whenever standard
output is not a terminal (a Procfile or container deploy) and text on a terminal.

Every line logged while a record is handled carries that record's topic, partition and
offset, and its tenant and conversation once known (:func:`bind_event`): the fields come from
a context variable, set in the record's own task, so nothing has to pass them along. Nothing
logs keys, tokens or message text; the audit detail's email addresses are the one personal
datum, logged where a person is missing from Vitally so an operator knows whom to add.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from typing import Any, Literal

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["auto", "json", "text"]

_event: ContextVar[dict[str, Any] | None] = ContextVar("vitally_sync_event", default=None)
# What a LogRecord has of its own; anything else on it came from ``extra=``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "color_message",
}


def bind_event(**fields: Any) -> None:
    """Add ``fields`` to every line this task logs from now on (one record per task)."""
    _event.set({**(_event.get() or {}), **fields})


class EventContext(logging.Filter):
    """Puts the current record's fields on every log line made while it is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (_event.get() or {}).items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class TextFormatter(logging.Formatter):
    """A readable line: time, level, logger, message, then the extra fields as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extra = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        if extra:
            line += " " + " ".join(f"{k}={v}" for k, v in sorted(extra.items()))
        return line


def json_output(fmt: LogFormat, stream: Any = None) -> bool:
    if fmt != "auto":
        return fmt == "json"
    out = stream if stream is not None else sys.stdout
    return not (hasattr(out, "isatty") and out.isatty())


def logging_config(fmt: LogFormat) -> dict[str, Any]:
    """Faust's ``logging_config``: merged into the config Faust builds from ``-l LEVEL``, so
    the level stays the command line's and only the handler and its format are ours."""
    formatter: dict[str, Any] = (
        {
            "()": JsonFormatter,
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
        if json_output(fmt)
        else {"()": "streams.logs.TextFormatter"}
    )
    return {
        "version": 1,
        "merge": True,
        "disable_existing_loggers": False,
        "formatters": {"vitally_sync": formatter},
        "filters": {"event": {"()": "streams.logs.EventContext"}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "vitally_sync",
                "filters": ["event"],
            }
        },
        # Faust's one warning there, on a refused send, prints the whole record (a DLQ copy
        # carries message text); streams/delivery.py logs the refusal without it.
        "loggers": {"faust.topics": {"level": "ERROR"}},
    }
