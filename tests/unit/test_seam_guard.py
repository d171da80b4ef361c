"""streams/seam's import-time guard: every Faust internal the seam relies on is listed, exists
in the installed Faust, and a release that renames one stops the worker at import."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import faust
import pytest
from faust.transport.drivers import aiokafka as faust_aiokafka

import streams.seam
from streams.seam import INTERNALS, missing_internals
from streams.seam.changelog import ChangelogTable
from streams.seam.commits import CommittingConsumer, CommittingTransport

# Our subclasses of Faust's classes, and the Faust class whose methods each one overrides.
OVERRIDERS: dict[type, type] = {
    ChangelogTable: faust.Table,
    CommittingConsumer: faust_aiokafka.Consumer,
    CommittingTransport: faust_aiokafka.Transport,
}
# Set on every class by Python, abc or mode's service machinery: not an override of ours.
MACHINERY = {"logger", "_abc_impl"}


def test_every_internal_the_seam_lists_exists_in_the_installed_faust() -> None:
    assert missing_internals() == []


def test_every_faust_method_the_seam_overrides_is_listed() -> None:
    for ours, theirs in OVERRIDERS.items():
        assert issubclass(ours, theirs)
        overridden = {
            name
            for name in vars(ours)
            if not name.startswith("__")
            and name not in MACHINERY
            and any(name in vars(base) for base in ours.__mro__[1:])
        }
        assert overridden, ours  # each overrides something, or it would not be here
        assert overridden <= set(INTERNALS[theirs]), (ours, overridden)


class Release:
    """A stand-in for a Faust class in a later release."""

    kept: int = 0
    annotated: int

    def __init__(self) -> None:
        self.assigned = 1

    def method(self) -> None:
        return None


def test_a_name_counts_as_a_method_an_annotation_or_an_attribute_the_code_assigns() -> None:
    listed: dict[type, tuple[str, ...]] = {
        Release: ("kept", "annotated", "assigned", "method", "renamed", "_new_offset")
    }
    assert missing_internals(listed) == [
        f"{__name__}.Release.renamed",
        f"{__name__}.Release._new_offset",
    ]


def test_the_guard_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(INTERNALS, Release, ("method", "renamed"))
    with pytest.raises(ImportError) as raised:
        streams.seam._require()
    message = str(raised.value)
    assert "this Faust release lacks what streams/seam relies on" in message
    assert f"{__name__}.Release.renamed" in message
    assert "Release.method" not in message


def test_a_faust_without_an_overridden_method_fails_the_import() -> None:
    """The check runs on import, before anything of the seam can be used."""
    script = textwrap.dedent(
        """
        from faust.transport import consumer

        del consumer.Consumer._new_offset  # as if a release had renamed it

        import streams.seam
        """
    )
    ran = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert ran.returncode != 0
    assert "ImportError: this Faust release lacks what streams/seam relies on" in ran.stderr
    assert "faust.transport.drivers.aiokafka.Consumer._new_offset" in ran.stderr
