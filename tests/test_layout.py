"""The layout: packages by stage, their order checked by import-linter's contracts
(pyproject.toml), no import circle but the listed lazy back-edges, and the module paths from
before the packages still importing the same modules."""

from __future__ import annotations

import ast
import importlib
import sys
import tomllib
from pathlib import Path

import grimp  # with import-linter, in the test extra: a missing one fails, never skips
import importlinter.cli as linter
import pytest

from symconv._moved import MOVED

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "symconv"



def _config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def _lazy_edges() -> list[tuple[str, str]]:
    (stages,) = [c for c in _config()["contracts"] if c["id"] == "stages"]
    return [tuple(s.split(" -> ")) for s in stages["ignore_imports"]]  # type: ignore[misc]


def test_contracts_are_kept() -> None:
    """import-linter's own check (the same as `lint-imports` in the project folder)."""
    status = linter.lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True,
                                 no_logo=True)
    assert status == linter.EXIT_STATUS_SUCCESS


def test_no_import_circle_but_the_listed_lazy_ones() -> None:
    graph = grimp.build_graph("symconv", exclude_type_checking_imports=True, cache_dir=None)
    for importer, imported in _lazy_edges():
        assert graph.direct_import_exists(importer=importer, imported=imported), \
            f"listed back-edge {importer} -> {imported} is gone: take it off the list"
        graph.remove_import(importer=importer, imported=imported)
    circles = sorted(
        (a, b) for a in graph.modules for b in graph.find_modules_directly_imported_by(a)
        if graph.chain_exists(importer=b, imported=a)
    )
    assert circles == []


@pytest.mark.parametrize(("importer", "imported"), _lazy_edges())
def test_each_back_edge_is_a_lazy_import_in_a_method(importer: str, imported: str) -> None:
    """A back-edge is imported where a convenience method runs, never when its module loads."""
    path = PACKAGE.joinpath(*importer.split(".")[1:]).with_suffix(".py")
    tree = ast.parse(path.read_text())
    at_top = [n for n in tree.body if isinstance(n, ast.ImportFrom) and n.module == imported]
    inside = [n for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)
              for n in ast.walk(f) if isinstance(n, ast.ImportFrom) and n.module == imported]
    assert not at_top and inside


@pytest.mark.parametrize("old", sorted(MOVED))
def test_old_module_paths_import_the_same_module(old: str) -> None:
    module = importlib.import_module(old)
    assert module is importlib.import_module(MOVED[old])
    assert sys.modules[old] is module
    assert module.__spec__ is not None and module.__spec__.name == MOVED[old]


def test_old_paths_leave_the_public_names_alone() -> None:
    """Importing a submodule sets it on its package: no old path may shadow a public name."""
    import symconv

    before = {name: getattr(symconv, name) for name in symconv.__all__}
    for old in MOVED:
        importlib.import_module(old)
    assert {name: getattr(symconv, name) for name in symconv.__all__} == before
    assert not {old.rsplit(".", 1)[1] for old in MOVED} & set(symconv.__all__)


@pytest.mark.parametrize("old", sorted(o for o in MOVED if o.count(".") == 1))
def test_old_modules_read_as_attributes_of_the_package(old: str) -> None:
    import symconv

    assert getattr(symconv, old.split(".")[1]) is importlib.import_module(MOVED[old])


def test_an_unknown_attribute_is_an_attribute_error() -> None:
    import symconv

    with pytest.raises(AttributeError, match="has no attribute 'no_such_module'"):
        symconv.no_such_module  # noqa: B018


def test_old_paths_serve_from_imports() -> None:
    import symconv
    from symconv.engine.formulas import window_out  # the old path a user may have written
    from symconv.solve import solve  # the solver's path is the package's own

    assert window_out is symconv.engine.formulas.window_out
    assert solve is symconv.solve


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return found


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_symconv_never_imports_an_old_path(path: Path) -> None:
    old = [f"line {line}: {name}" for line, name in _imports(path) if name in MOVED]
    assert old == []


def test_the_stages_are_packages() -> None:
    """The folder listing shows the pipeline: beside the packages only the facade, the
    command line, the errors and the alias table are modules."""
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert modules == ["__init__.py", "__main__.py", "_moved.py", "cli.py", "errors.py",
                       "network.py"]
