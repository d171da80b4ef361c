"""The profile split BENCHMARKS.md quotes: each sample goes to its innermost named part."""

from __future__ import annotations

from pathlib import Path

from bench.profile_split import REST, heaviest_of_ours, split

ROOT = "<module> (vitally-sync:6);run_forever (asyncio/base_events.py:607)"
HANDLER = f"{ROOT};EventHandler.handle (streams/handler.py:205)"
RAW = "\n".join(
    (
        f"{HANDLER};_emit (streams/handler.py:600);BaseModel.__init__ (pydantic/main.py:250) 3",
        f"{HANDLER};VitallyClient.add_message (vitally/client.py:146);"
        "AsyncClient.request (httpx/_client.py:1500) 5",
        f"{HANDLER};EventHandler._settle (streams/handler.py:420) 2",
        f"{HANDLER};Logger.info (logging/__init__.py:1400) 1",
        f"{ROOT};Fetcher._fetcher (aiokafka/consumer/fetcher.py:10) 4",
        f"{ROOT};_run_once (asyncio/base_events.py:1922) 1",
    )
)


def test_each_sample_goes_to_its_innermost_part(tmp_path: Path) -> None:
    profile = tmp_path / "worker.raw"
    profile.write_text(RAW + "\n")
    parts, total = split(profile)
    assert total == 16
    assert parts == {
        "serialisation": 3,
        "HTTP client": 5,
        "our handler": 2,
        "logging and metrics": 1,
        "Faust/aiokafka": 4,
        REST: 1,
    }
    heaviest = dict(heaviest_of_ours(profile, 2))
    assert heaviest == {
        "EventHandler.handle (streams/handler.py)": 11,
        "VitallyClient.add_message (vitally/client.py)": 5,
    }
