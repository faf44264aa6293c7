"""Start-up: `import symconv` and `symconv table` load only what they use, the public names
still resolve to their objects, and the grammar cache lives in the user's own folder."""

from __future__ import annotations

import importlib
import json
import os
import stat
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

import symconv
from symconv.language import parse as parse_module

ROOT = Path(__file__).resolve().parents[1]

# Stages and libraries `symconv table` has no use for: each loads only when asked for.
NOT_FOR_TABLE = [
    "torch", "numpy", "pandas", "latexify",
    "symconv.derive.derivation", "symconv.solve.solution", "symconv.solve.present",
    "symconv.render.solution", "symconv.render.figure", "symconv.derive.figures",
    "symconv.documents.notes", "symconv.documents.formula_sheet", "symconv.interop.torch_import",
]


def _modules_after(code: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", code + "\nimport sys, json\n"
                           "print(json.dumps(sorted(sys.modules)), file=sys.stderr)"],
                          capture_output=True, text=True, check=True, cwd=ROOT)
    return set(json.loads(done.stderr.splitlines()[-1]))


def test_import_symconv_loads_no_stage() -> None:
    loaded = _modules_after("import symconv")
    assert {"torch", "numpy", "pandas", "latexify", "lark", "symconv.network"} & loaded == set()


def test_symconv_table_loads_only_what_it_uses() -> None:
    loaded = _modules_after(
        "import contextlib, io\nfrom symconv.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['table', 'examples/alexnet.net']) == 0")
    assert [name for name in NOT_FOR_TABLE if name in loaded] == []
    assert "symconv.render.table" in loaded  # the check sees the command's own modules


@pytest.mark.parametrize("name", symconv.__all__)
def test_each_public_name_is_its_home_modules_object(name: str) -> None:
    home = importlib.import_module(symconv._HOMES[name])
    assert getattr(symconv, name) is getattr(home, name)
    assert name in dir(symconv)


def test_public_names_and_their_homes_agree() -> None:
    assert sorted(symconv.__all__) == sorted(symconv._HOMES)


@pytest.mark.parametrize("name", ["solve", "derive"])
def test_a_subpackage_of_the_same_name_leaves_the_function(name: str) -> None:
    function = getattr(symconv, name)
    module = importlib.import_module(f"symconv.{name}")
    for sub in ("layers", "design", "align") if name == "solve" else ("steps", "figures"):
        importlib.import_module(f"symconv.{name}.{sub}")
    assert getattr(symconv, name) is function and callable(function)
    assert getattr(module, name) is function  # the package's own name for it


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'symconv' has no attribute 'nothing'"):
        symconv.nothing  # noqa: B018
    for package in ("symconv.solve", "symconv.derive"):
        with pytest.raises(AttributeError, match=f"module '{package}' has no attribute 'no'"):
            getattr(importlib.import_module(package), "no")  # noqa: B009


def _grammar() -> str:
    return resources.files("symconv.grammar").joinpath("symconv.lark").read_text("utf-8")


def test_the_grammar_cache_is_in_a_private_user_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = parse_module._grammar_cache(_grammar())
    assert isinstance(path, str) and Path(path).parent == tmp_path / "symconv"
    assert stat.S_IMODE(os.stat(tmp_path / "symconv").st_mode) == 0o700


def test_no_cache_where_the_folder_cannot_be_made(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))  # a file, not a folder
    assert parse_module._grammar_cache(_grammar()) is False
    parser = parse_module._parser.__wrapped__()
    assert parser.parse("input 3 x 8 x 8\nconv 4 k=3\n", start="start") is not None


@pytest.mark.parametrize("content", [b"", b"garbage\n", b"\x80\x04junk" * 10])
def test_a_damaged_cache_file_is_rebuilt_silently(
        content: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = Path(str(parse_module._grammar_cache(_grammar())))
    path.write_bytes(content)
    parser = parse_module._parser.__wrapped__()
    assert parser.parse("input 3 x 8 x 8\nconv 4 k=3\n", start="start") is not None
    assert capfd.readouterr() == ("", "")
    assert path.read_bytes() != content  # written again, whole
