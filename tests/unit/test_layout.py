"""The folders show the flow, and imports run one way (docs/architecture.md).

Each package may import only the packages below it, and the two packages of one layer (the
Vitally and Unthread clients) not each other: what they share is in apiclient, which names
neither API. Faust is imported only in streams, its and aiokafka's internals only in
streams/seam; the service never imports the development tools.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Lowest first: a package may import itself and anything before it in this list.
LAYERS: list[tuple[str, ...]] = [
    ("schemas",),
    ("apiclient",),
    ("vitally", "unthread"),
    ("processors",),
    ("integrations",),
    ("streams", "ops"),
]
SERVICE = [package for layer in LAYERS for package in layer]
DEVKIT = (
    "sandboxkit",
    "vitally_sandbox",
    "unthread_sandbox",
    "kafka_local",
    "bench",
    "demo",
    "devtools",
)
# Modules that reach past Faust's and aiokafka's public API (aiokafka's is its top level):
# only streams/seam may use them.
INTERNAL_MODULES = ("faust.transport", "faust.tables", "faust.web.drivers", "mode")
# Faust (and mode, under it) is the stream layer's; nothing below it knows Faust.
FAUST = ("faust", "mode")
# What every API client shares knows no API by name (the service's own name is no API's).
API_NAMES = re.compile(r"vitally(?!-sync)|unthread", re.IGNORECASE)


def _layer(package: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if package in layer)


def _internal(module: str) -> bool:
    return module.startswith("aiokafka.") or any(
        module == name or module.startswith(name + ".") for name in INTERNAL_MODULES
    )


def _modules() -> Iterator[Path]:
    for package in SERVICE:
        if (ROOT / package).is_dir():
            yield from sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module


def _violations(path: Path) -> Iterator[str]:
    relative = path.relative_to(ROOT)
    own = relative.parts[0]
    in_seam = relative.parts[:2] == ("streams", "seam")
    for line, module in _imports(path):
        top = module.split(".")[0]
        where = f"{relative}:{line} imports {module}"
        if top in SERVICE and _layer(top) > _layer(own):
            yield f"{where}: {own} may not import upward"
        if top in SERVICE and top != own and _layer(top) == _layer(own) and own != "streams":
            yield f"{where}: {own} and {top} share a layer; what both need goes below them"
        if top in FAUST and own != "streams":
            yield f"{where}: Faust belongs in streams"
        if top in DEVKIT:
            yield f"{where}: the service does not ship the development tools"
        if not in_seam and _internal(module):
            yield f"{where}: Faust's internals belong in streams/seam"
        if in_seam and top == "streams" and not module.startswith("streams.seam"):
            yield f"{where}: the seam depends on nothing else in streams"


def test_imports_run_one_way() -> None:
    found = [v for path in _modules() for v in _violations(path)]
    assert found == []


def test_what_the_api_clients_share_names_neither_api() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "apiclient").rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if API_NAMES.search(line)
    ]
    assert found == []


@pytest.mark.parametrize(
    ("own", "source", "expected"),
    [
        ("schemas", "from processors.sync import process_event", "may not import upward"),
        ("processors", "import streams.app", "may not import upward"),
        ("streams", "from faust.transport.drivers import aiokafka", "belong in streams/seam"),
        ("streams", "from vitally_sandbox import create_app", "development tools"),
        ("integrations", "from aiokafka.consumer import fetcher", "belong in streams/seam"),
        ("unthread", "from vitally.client import build_http_client", "share a layer"),
        ("vitally", "import unthread.errors", "share a layer"),
        ("integrations", "import faust", "Faust belongs in streams"),
        ("processors", "from faust import Record", "Faust belongs in streams"),
    ],
)
def test_the_walk_finds_each_kind_of_violation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, own: str, source: str, expected: str
) -> None:
    module = tmp_path / own / "bad.py"
    module.parent.mkdir()
    module.write_text(source + "\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    [violation] = list(_violations(module))
    assert expected in violation


def _package_imports() -> dict[str, set[str]]:
    """Per package, the other packages of ours it imports, and ``faust`` if it does."""
    found: dict[str, set[str]] = {package: set() for package in SERVICE}
    for path in _modules():
        own = path.relative_to(ROOT).parts[0]
        for _, module in _imports(path):
            top = module.split(".")[0]
            if (top in SERVICE and top != own) or top == "faust":
                found[own].add(top)
    return found


def test_the_architecture_doc_lists_what_each_package_imports() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("| package | imports of ours (and Faust) |", 1)[1].split("\n\n", 1)[0]
    documented = {}
    for row in re.findall(r"^\| `(\w+)` \| (.+) \|$", section, flags=re.MULTILINE):
        package, imports = row
        documented[package] = set(re.findall(r"`(\w+)`", imports))
    assert documented == _package_imports(), "update docs/architecture.md's import table"
    # ...and its drawing of the layers is this test's.
    assert "  <-  ".join(", ".join(layer) for layer in LAYERS) in text


# A function reads in one sitting: at most this many lines, signature and docstring included.
MAX_FUNCTION_LINES = 50
SHORT_FUNCTIONS = ("streams", "processors")


def _long_functions(root: Path) -> Iterator[str]:
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    yield f"{path.relative_to(root)}:{node.name} ({lines} lines)"


def test_no_function_in_streams_and_processors_is_over_50_lines() -> None:
    over = [f"{package}/{found}" for package in SHORT_FUNCTIONS
            for found in _long_functions(ROOT / package)]  # fmt: skip
    assert not over, f"split these: {over}"


def test_the_length_check_sees_a_long_function(tmp_path: Path) -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "long.py").write_text(f"async def long() -> None:\n{body}")
    (tmp_path / "short.py").write_text("def short() -> None:\n    pass\n")
    assert list(_long_functions(tmp_path)) == [f"long.py:long ({MAX_FUNCTION_LINES + 1} lines)"]
