"""The rooms of the package and the one direction imports may take (docs/architecture.md).

Every import counts, also those inside functions; only imports under `if TYPE_CHECKING:` are
exempt, since they never run.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "campaign_worker"

# Lowest first. A module may import from its own layer and the layers below it.
LAYERS: list[set[str]] = [
    {"errors", "timeutil", "home", "post", "config", "files", "__init__"},
    {"media"},
    {"store"},
    {"workspace"},
    {"moderation", "sources"},
    {"publish"},
    {"pipeline", "stats", "privacy"},
    {"scheduler"},
    {"web"},
    {"cli"},
]
# Rooms of one layer that must not know each other.
STRANGERS = {frozenset({"moderation", "sources"})}


def room_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def rank_of(room: str) -> int:
    for rank, rooms in enumerate(LAYERS):
        if room in rooms:
            return rank
    raise AssertionError(f"room {room!r} is in no layer of LAYERS: add it (and to docs/architecture.md)")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                skipped.update(id(n) for n in ast.walk(child))
    return skipped


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The package modules one file imports (a package import counts as its `__init__`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = _type_checking_nodes(tree)
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        found.update(t for t in targets if t.startswith("campaign_worker") and t != me)
    return found


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts}
    return {name: imports_of(path, set(files)) for name, path in files.items()}


def test_every_import_goes_down_the_layers():
    wrong = []
    for module, targets in import_graph().items():
        room = room_of(module)
        for target in targets:
            other = room_of(target)
            if other == room:
                continue
            if rank_of(other) > rank_of(room):
                wrong.append(f"{module} imports {target}: {room} sits below {other}")
            elif frozenset({room, other}) in STRANGERS:
                wrong.append(f"{module} imports {target}: {room} and {other} must not know each other")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycle():
    graph = import_graph()
    state: dict[str, int] = defaultdict(int)  # 0 new, 1 on the path, 2 done
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if state[target] == 1:
                cycles.append(" → ".join(path[path.index(target):] + [target]))
            elif state[target] == 0 and target in graph:
                visit(target, path + [target])
        state[node] = 2

    for module in sorted(graph):
        if state[module] == 0:
            visit(module, [module])
    assert not cycles, "\n".join(cycles)


def test_the_checker_sees_a_wrong_import(tmp_path):
    """The check itself: a store module that imports the web app is reported."""
    fake = PACKAGE / "store" / "_probe_wrong_direction.py"
    fake.write_text("from campaign_worker.web import app\n", encoding="utf-8")
    try:
        graph = import_graph()
        assert "campaign_worker.web.app" in graph["campaign_worker.store._probe_wrong_direction"]
        assert rank_of(room_of("campaign_worker.web.app")) > rank_of(room_of("campaign_worker.store._probe_wrong_direction"))
    finally:
        fake.unlink()
