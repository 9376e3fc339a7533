"""One-way layering: core < training < eval < scheduler < cli (docs/architecture.md).

Every import of every module is read from its AST — top-level, inside functions, under
``TYPE_CHECKING``, relative imports, and ``importlib.import_module("...")`` with a literal name — and a
module may only import its own layer or a lower one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Folder in the repository -> (import prefix, layer rank). Lower ranks may not import higher ones.
PACKAGES: dict[str, tuple[str, int]] = {
    "sagepred": ("sagepred", 0),
    "training": ("sagepred.training", 1),
    "eval": ("sagepred.eval", 2),
    "scheduler": ("sagepred.scheduler", 3),
    "sagepred/cli": ("sagepred.cli", 4),
}
LAYER_NAMES = {rank: prefix for prefix, rank in PACKAGES.values()}
# ``python -m sagepred`` is the command line's entry point, so it sits in the cli layer.
ENTRY_POINTS = {"sagepred/__main__.py": "sagepred.cli.__main__"}


def layer_of(module: str) -> int | None:
    """The rank of the ``sagepred`` layer that owns dotted ``module``, or ``None`` for a foreign module."""
    if module != "sagepred" and not module.startswith("sagepred."):
        return None
    best = 0
    best_len = 0
    for prefix, rank in PACKAGES.values():
        if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
            best, best_len = rank, len(prefix)
    return best


def module_name(path: Path) -> tuple[str, bool]:
    """The dotted name of the module at ``path`` and whether it is a package ``__init__``."""
    rel = path.relative_to(ROOT)
    if rel.as_posix() in ENTRY_POINTS:
        return ENTRY_POINTS[rel.as_posix()], False
    folder = "sagepred/cli" if rel.parts[:2] == ("sagepred", "cli") else rel.parts[0]
    prefix = PACKAGES[folder][0]
    inner = rel.relative_to(folder).with_suffix("").parts
    is_pkg = inner[-1] == "__init__"
    parts = list(inner[:-1] if is_pkg else inner)
    return ".".join([prefix, *parts]), is_pkg


def imported_modules(tree: ast.AST, name: str, is_pkg: bool) -> list[tuple[int, str]]:
    """``(line, dotted module)`` for every import in ``tree`` (``from a import b`` yields ``a.b`` too)."""
    package = name if is_pkg else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            found.append((node.lineno, base))
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names if alias.name != "*")
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                or (isinstance(node.func, ast.Name) and node.func.id in {"import_module", "__import__"})
            )
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def source_files() -> list[Path]:
    files: list[Path] = []
    for folder in ("sagepred", "training", "eval", "scheduler"):
        files.extend(sorted((ROOT / folder).rglob("*.py")))
    return files


def layering_violations() -> list[str]:
    """``file:line: message`` for every import of a higher layer by a lower one."""
    problems: list[str] = []
    for path in source_files():
        name, is_pkg = module_name(path)
        own = layer_of(name)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        reported: set[int] = set()
        for line, target in imported_modules(tree, name, is_pkg):
            rank = layer_of(target)
            if rank is not None and own is not None and rank > own and line not in reported:
                reported.add(line)
                rel = path.relative_to(ROOT)
                problems.append(
                    f"{rel}:{line}: {LAYER_NAMES[own]} (layer {own}) imports {target} "
                    f"(layer {rank}, {LAYER_NAMES[rank]})"
                )
    return problems


def test_no_lower_layer_imports_a_higher_one() -> None:
    problems = layering_violations()
    assert not problems, "layering violated:\n" + "\n".join(problems)


def test_the_walk_sees_every_package() -> None:
    names = {module_name(p)[0] for p in source_files()}
    for prefix, _ in PACKAGES.values():
        assert prefix in names
    assert len(names) > 40


@pytest.mark.parametrize(
    ("source", "name", "expected"),
    [
        ("import sagepred.eval.metrics", "sagepred.history", ["sagepred.eval.metrics"]),
        (
            "def f():\n    from sagepred.eval import metrics\n",
            "sagepred.x",
            ["sagepred.eval", "sagepred.eval.metrics"],
        ),
        (
            "from .metrics import x",
            "sagepred.eval.report",
            ["sagepred.eval.metrics", "sagepred.eval.metrics.x"],
        ),
        ("from .. import training", "sagepred.cli.train", ["sagepred", "sagepred.training"]),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from sagepred.scheduler.cost import C\n",
            "sagepred.eval.online",
            ["typing", "typing.TYPE_CHECKING", "sagepred.scheduler.cost", "sagepred.scheduler.cost.C"],
        ),
        (
            "import importlib\nimportlib.import_module('sagepred.scheduler')",
            "sagepred.io",
            ["importlib", "sagepred.scheduler"],
        ),
    ],
)
def test_imports_are_found_wherever_they_hide(source: str, name: str, expected: list[str]) -> None:
    assert [m for _, m in imported_modules(ast.parse(source), name, is_pkg=False)] == expected


def test_layers_rank_the_longest_prefix() -> None:
    assert layer_of("sagepred.metrics") == 0
    assert layer_of("sagepred") == 0
    assert layer_of("sagepred.training.tracking") == 1
    assert layer_of("sagepred.eval") == 2
    assert layer_of("sagepred.scheduler.policies") == 3
    assert layer_of("sagepred.cli.base") == 4
    assert layer_of("sagepredx") is None
    assert layer_of("numpy") is None


def test_moved_modules_stay_importable_under_their_old_names() -> None:
    import sagepred.eval.metrics as old_metrics
    import sagepred.metrics as metrics
    import sagepred.tracking as tracking
    import sagepred.training.tracking as old_tracking

    for name in old_metrics.__all__:
        assert getattr(old_metrics, name) is getattr(metrics, name)
    defined_in_core = {
        name
        for name, value in vars(metrics).items()
        if not name.startswith("_")
        and (name.isupper() or getattr(value, "__module__", None) == metrics.__name__)
    }
    assert defined_in_core == set(old_metrics.__all__)
    for name in old_tracking.__all__:
        assert getattr(old_tracking, name) is getattr(tracking, name)
