"""TLS material given as PEM text instead of a file: platforms hand it over in variables.

Heroku's Kafka add-on, for one, sets the CA and the client certificate and key as PEM text
(``KAFKA_TRUSTED_CERT``, ``KAFKA_CLIENT_CERT``, ``KAFKA_CLIENT_CERT_KEY``). Every Kafka library
the service uses reads files, and Python's ``ssl`` loads a client certificate only from a
file, so PEM text is written once to a directory only this process can read (0700, files
0600), removed at exit; the settings then hold the path, never the key itself.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

_PEM_START = "-----BEGIN "
_directory: Path | None = None


def is_pem(value: str) -> bool:
    return value.lstrip().startswith(_PEM_START)


def as_path(value: str | None, name: str) -> str | None:
    """``value`` when it is a path (or unset); when it is PEM text, a private file holding it."""
    if value is None or not is_pem(value):
        return value
    text = value.strip().replace("\\n", "\n") + "\n"  # one-line variables escape newlines
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = _private_directory() / f"{name}-{digest}.pem"
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
    return str(path)


def _private_directory() -> Path:
    global _directory  # noqa: PLW0603 - one directory per process, made on first use
    if _directory is None:
        _directory = Path(tempfile.mkdtemp(prefix="vitally-sync-tls-"))  # mode 0700
        atexit.register(shutil.rmtree, _directory, ignore_errors=True)
    return _directory
