"""Dependencies point one way: envs <- augment <- agents <- rollout <- train / profile <- study <- cli.
Every import counts, the ones inside functions too (a function-local import may delay loading a
heavy or optional package, never dodge a cycle), and no two modules import each other."""

import ast
from pathlib import Path

import gentax

SRC = Path(gentax.__file__).parent
# gentax.config (the config mechanism), gentax.files (atomic writes) and gentax.memory (handing
# freed memory back) serve every layer; gentax/__init__ re-exports envs.
LAYERS = {"config": 0, "files": 0, "memory": 0, "envs": 1, "augment": 2, "agents": 3, "rollout": 4,
          "train": 5, "profile": 5, "study": 6, "cli": 7, "__init__": 8}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    graph = {}
    for path in SRC.rglob("*.py"):
        name = module_name(path)
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gentax"):
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("gentax")}
        graph[name] = found - {name}
    return graph


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS["__init__"] if len(parts) == 1 else LAYERS[parts[1]]


def test_no_module_imports_a_higher_layer():
    wrong = [f"{src} imports {dst}" for src, dsts in imports().items() for dst in dsts
             if layer(dst) > layer(src)]
    assert wrong == []


def test_no_import_cycles():
    graph = imports()

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            for nxt in graph.get(node, ()):
                if nxt == goal:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False

    cycles = sorted(f"{a} <-> {b}" for a, dsts in graph.items() for b in dsts if a < b and reaches(b, a))
    assert cycles == []


def test_nothing_cites_files_outside_the_repository():
    # What users need of the paper is in docs/paper.md; notes outside the repository are not theirs.
    root = SRC.parent.parent
    texts = [p for folder in ("src", "docs", "configs", "bench", "tests") for p in (root / folder).rglob("*")
             if p.suffix in (".py", ".md", ".yaml")] + [root / "README.md", root / "Makefile"]
    outside = ("PAPER" + ".md", "../" + "shared")
    assert [str(p) for p in texts if any(ref in p.read_text() for ref in outside)] == []
