"""Re-encrypting every stored key with the newest SECRETS_KEY while workers run.

Kafka offers no compare-and-set, and workers, the HTTP API and the CLI may write a tenant's
record while a rotation runs (a connect, a re-check, a worker flagging a rejected key). So a
rotation changes nothing but the ciphertexts, and its copy is dated one microsecond after the
record it copies: newer than that record (whichever partition an older writer put it on), and
older than any record written after the rotation read it, which stays the current one for the
workers (:meth:`IntegrationRecord.supersedes`) wherever it lands on the topic.

What compaction keeps is the last record per key, though, not the current one: a rotated
copy of an older record written after a newer one would come back after compaction and
undo it. So the rotation then reads the topic again and repeats, from the current record
(the newer one), for every tenant whose current record is not its last one or is not yet
encrypted with the newest key, until there is none: every tenant's last record is then its
current record, encrypted with the newest key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from integrations.secrets import SecretBox, UndecryptableSecret
from integrations.topic import Entry, latest
from schemas.integration import IntegrationRecord

ROUNDS = 5
COPY_DELAY = timedelta(microseconds=1)


class RotationUnsettled(RuntimeError):
    """Other writers kept changing records faster than the rotation could settle them."""

    reason = "rotation_unsettled"


@dataclass
class Rotation:
    """Tenants whose records were re-written, and those whose keys no key decrypts."""

    rotated: set[str] = field(default_factory=set)
    undecryptable: set[str] = field(default_factory=set)


def rotate_secrets(
    box: SecretBox,
    read_log: Callable[[], list[Entry]],
    publish: Callable[[IntegrationRecord], None],
) -> Rotation:
    """Rotate until every tenant's last record is its current one, under the newest key."""
    done = Rotation()
    for _ in range(ROUNDS):
        due = [
            held.record
            for tenant, held in latest(read_log()).items()
            if tenant not in done.undecryptable and not (held.last and _newest(box, held.record))
        ]
        if not due:
            return done
        for record in due:
            try:
                rotated = _rotated(box, record)
            except UndecryptableSecret:
                # One tenant whose key was encrypted with a dropped SECRETS_KEY must not stop
                # the others from moving to the new key. It has to reconnect.
                done.undecryptable.add(record.tenant_id)
                continue
            publish(rotated)
            done.rotated.add(record.tenant_id)
    raise RotationUnsettled(
        f"records kept changing during {ROUNDS} rounds; run rotate-secrets again"
    )


def _newest(box: SecretBox, record: IntegrationRecord) -> bool:
    unthread = record.unthread_api_key_encrypted
    return box.is_newest(record.api_key_encrypted) and (unthread is None or box.is_newest(unthread))


def _rotated(box: SecretBox, record: IntegrationRecord) -> IntegrationRecord:
    """The same record, its keys re-encrypted, one microsecond newer (see the module)."""
    unthread = record.unthread_api_key_encrypted
    return record.model_copy(
        update={
            "api_key_encrypted": box.rotate(record.api_key_encrypted),
            "unthread_api_key_encrypted": box.rotate(unthread) if unthread is not None else None,
            "updated_at": record.updated_at + COPY_DELAY,
        }
    )
