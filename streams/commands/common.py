"""What every command shares: errors as one line on stderr, the environment it reads (for
``--help``), and reading a secret from the terminal or stdin."""

from __future__ import annotations

import getpass
import logging
import sys
from collections.abc import Callable

from confluent_kafka import KafkaError, KafkaException
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from integrations.secrets import SecretsKeyError
from streams.replay import ReplayError
from streams.topics import TopicLayoutError

PROG = "vitally-sync"
CONFIG_ERROR = 2  # also what argparse exits with for a bad option
RUN_ERROR = 1


class CommandError(Exception):
    """A failure the operator can act on, said in one line."""


def guarded(run: Callable[[], int]) -> int:
    """Run a command; configuration and connection errors become one line on stderr and a
    non-zero exit (2: configuration, 1: Kafka or the run), never a traceback."""
    # librdkafka retries an unreachable broker and logs each try; the one line below says it.
    logging.getLogger("librdkafka").setLevel(logging.CRITICAL)
    try:
        return run()
    except ValidationError as exc:
        return _fail(f"configuration error: {describe_validation(exc)}", CONFIG_ERROR)
    except SecretsKeyError as exc:
        return _fail(f"configuration error: {exc}", CONFIG_ERROR)
    except KafkaException as exc:
        error = exc.args[0] if exc.args else None
        text = str(error.str()) if isinstance(error, KafkaError) else str(exc)
        return _fail(f"Kafka error: {text} (KAFKA_BOOTSTRAP_SERVERS, KAFKA_SECURITY_*)")
    except (CommandError, ReplayError, TopicLayoutError, TimeoutError, OSError) as exc:
        return _fail(str(exc) or type(exc).__name__)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


def _fail(message: str, code: int = RUN_ERROR) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return code


def describe_validation(exc: ValidationError) -> str:
    """``SECRETS_KEY: field required; TOPIC_PARTITIONS: ...``: by environment variable, never
    echoing a value (settings hide their input in errors)."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in error["loc"]).upper()
        message = str(error["msg"])
        if error["type"] == "missing":
            message = "required, not set"
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def environment_epilog(settings: type[BaseSettings], *, extra: str = "") -> str:
    """The environment variables a command reads, for its ``--help``."""
    required = [
        name.upper() for name, field in settings.model_fields.items() if field.is_required()
    ]
    optional = [
        name.upper() for name, field in settings.model_fields.items() if not field.is_required()
    ]
    text = "environment: " + ", ".join(optional)
    if required:
        text += "; required: " + ", ".join(required)
    return text + (f". {extra}" if extra else "") + " (README: Configuration)."


def read_secret(value: str, prompt: str) -> str:
    """``value``, or for ``-`` the secret from a prompt (a terminal) or stdin's first line."""
    if value != "-":
        return value
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().strip()
