"""The package's public names stay sorted and importable."""

from __future__ import annotations

import vitally_sandbox


def test_all_is_sorted_and_resolves() -> None:
    assert vitally_sandbox.__all__ == sorted(vitally_sandbox.__all__)
    assert all(hasattr(vitally_sandbox, name) for name in vitally_sandbox.__all__)
