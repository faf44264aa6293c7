"""The documentation runs: every code block in docs/ and README.md is executed, so the pages
cannot rot.

Fenced blocks by language:
- python: executed in order, one namespace per page (assert what the prose claims);
- pycon: doctest (the printed output is compared);
- console: `$ symconv ...` lines run through the CLI, the lines after each compared with
  what it prints (standard output and errors together, trailing spaces ignored); other
  commands (`$ pip install ...`) are shown, not run;
- symconv: a description that must parse and agree with PyTorch layer by layer, unless a
  `text` block follows at once: then it is a bad input and the text is its exact message.

docs/language.md also holds tables generated from symconv/language/catalog.py; run with
SYMCONV_REGENERATE_DOCS=1 to rewrite them after the catalog changes (and read the diff).
"""

from __future__ import annotations

import contextlib
import doctest
import io
import os
import re
import shlex
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import need_pdflatex

import symconv
from symconv.cli import main
from symconv.engine.records import Record
from symconv.interop.torch_check import compare
from symconv.language import catalog
from symconv.language.catalog import REQUIRED, Family, Kind, Spec
from symconv.present.values import text_shape

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# The README too: its `console` blocks are the first output a new user compares with theirs.
PAGES = [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]
FENCE = re.compile(r"^```(\w*)([^\n]*)\n(.*?)^```[ \t]*$", re.M | re.S)


@dataclass(frozen=True, slots=True)
class Block:
    language: str
    text: str
    line: int  # of the opening fence, for messages
    adjacent: bool  # only blank lines between the previous block and this one
    needs_pdflatex: bool = False  # ```python needs pdflatex: compiles LaTeX


def blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    found, end = [], -1
    for m in FENCE.finditer(text):
        adjacent = end >= 0 and not text[end:m.start()].strip()
        found.append(Block(m.group(1), m.group(3), text.count("\n", 0, m.start()) + 1, adjacent,
                           "needs pdflatex" in m.group(2)))
        end = m.end()
    return found


def test_there_are_pages() -> None:
    names = {page.name for page in PAGES}
    assert {"language.md", "errors.md", "conventions.md", "tutorial-python.md"} <= names


# ---------------------------------------------------------------- running the blocks


def run_cli(command: str) -> tuple[int, str]:
    """The exit status of `symconv ...` and what it prints, standard output and errors
    together."""
    argv = shlex.split(command)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            code = main(argv[1:])
        except SystemExit as exit_:  # argparse's own usage errors
            code = exit_.code if isinstance(exit_.code, int) else 2
    return code, out.getvalue()


def expected_status(output: Sequence[str]) -> int:
    """What the shown output says the exit status is: 2 for an error, 1 for a solve that
    found no value, 0 otherwise."""
    first = output[0] if output else ""
    if first.startswith(("symconv: error:", "usage:")):
        return 2
    return 1 if first.startswith("no solution:") else 0


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.rstrip("\n").splitlines()]


def _complete(command: str) -> bool:
    """Whether the command's quotes are closed (a quoted description may span lines)."""
    try:
        shlex.split(command)
    except ValueError:
        return False
    return True


def run_console(block: Block, where: str) -> None:
    commands: list[tuple[str, list[str]]] = []
    for line in block.text.splitlines():
        if commands and not commands[-1][1] and not _complete(commands[-1][0]):
            commands[-1] = (commands[-1][0] + "\n" + line, [])  # a quote spans lines
        elif line.startswith("$ "):
            commands.append((line[2:], []))
        else:
            assert commands, f"{where}: output before the first '$ ' line"
            commands[-1][1].append(line)
    for command, expected in commands:
        if not command.startswith("symconv "):
            continue  # set-up commands (pip install ...) are not run here
        code, printed = run_cli(command)
        assert _lines(printed) == _lines("\n".join(expected)), f"{where}: $ {command}"
        assert code == expected_status(expected), f"{where}: exit status of $ {command}"


def run_pycon(block: Block, namespace: dict[str, object], where: str) -> None:
    test = doctest.DocTestParser().get_doctest(block.text, namespace, where, where, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    report = io.StringIO()
    runner.run(test, out=report.write, clear_globs=False)
    namespace.update(test.globs)  # DocTest works on a copy; later blocks see these names
    assert runner.failures == 0, report.getvalue()


def _all_records(records: Sequence[Record]) -> list[Record]:
    """Records in the order of the text: a block's layers after it, then the next layer."""
    return [x for r in records for x in (r, *_all_records(r.children))]


ARROW = re.compile(r"#\s*->\s*(.+?)\s*$")


def run_description(block: Block, where: str) -> None:
    """Parse; check each `# -> SHAPE` note against the layer's output shape on that line;
    compare with PyTorch where every size is a number."""
    network = symconv.parse(block.text)
    notes = {n: m.group(1) for n, line in enumerate(block.text.splitlines(), start=1)
             if (m := ARROW.search(line))}
    last_on_line = {r.layer.source.line: text_shape(r.output_shape)
                    for r in _all_records(network.records()) if r.layer.source is not None}
    for line, shape in notes.items():
        assert last_on_line.get(line) == shape, f"{where}, line {line} of the block"
    # PyTorch has no TensorFlow 'same' (tests/test_keras.py is that convention's oracle)
    if network.symbols or re.search(r"^convention tensorflow", block.text, re.MULTILINE):
        return
    comparison = compare(network, {})
    assert comparison.agrees, f"{where}: PyTorch disagrees\n{comparison}"


def run_bad_description(block: Block, message: Block, where: str) -> None:
    with pytest.raises(symconv.SymconvError) as caught:
        symconv.parse(block.text).table()
    assert _lines(str(caught.value)) == _lines(message.text), where


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_runs(page: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("SYMCONV_DOCS_TMP", str(tmp_path))
    namespace: dict[str, object] = {"__name__": "__docs__"}
    found = blocks(page)
    skipped: list[str] = []
    for i, block in enumerate(found):
        where = f"{page.name}:{block.line}"
        if block.needs_pdflatex and shutil.which("pdflatex") is None:
            skipped.append(where)
            continue
        if block.language == "python":
            exec(compile(block.text, where, "exec"), namespace)
        elif block.language == "pycon":
            run_pycon(block, namespace, where)
        elif block.language == "console":
            run_console(block, where)
        elif block.language == "symconv":
            following = found[i + 1] if i + 1 < len(found) else None
            if following is not None and following.language == "text" and following.adjacent:
                run_bad_description(block, following, where)
            else:
                run_description(block, where)
    if skipped:  # every other block ran; these need TeX (need_pdflatex fails them in CI)
        need_pdflatex()


# ---------------------------------------------------------------- the language reference

BEGIN = "<!-- generated from symconv/language/catalog.py: {} -->"
END = "<!-- end of generated table -->"


def _default(spec: Spec, name: str, default: object) -> str:
    if default is REQUIRED:
        return "required"
    if default is None:
        if name == "stride":
            return "the kernel size"
        if name in ("in_channels", "in_features", "num_features") or (
                spec.family in (Family.CHANNEL_NORM, Family.LAYER_SCALE)):
            return "from the input"
        return "none"
    if isinstance(default, bool):
        return "true" if default else "false"
    return str(default)


def catalog_table(spec: Spec) -> str:
    """The parameters of one layer family as a Markdown table."""
    lines = ["| parameter | short names | default | takes |", "|---|---|---|---|"]
    for p in spec.params:
        if p.kind is Kind.IGNORED:
            continue
        aliases = ", ".join(f"`{a}`" for a in p.aliases) or "-"
        lines.append(f"| `{p.name}` | {aliases} | {_default(spec, p.name, p.default)} | "
                     f"{p.kind.value} |")
    ignored = [p.name for p in spec.params if p.kind is Kind.IGNORED]
    if len(lines) == 2:
        lines = ["No parameters that change a shape or a count."]
    if spec.positional:
        lines.append("")
        lines.append(f"Without a name: {', '.join(f'`{n}`' for n in spec.positional)}. "
                     f"In PyTorch's call form, PyTorch's order: "
                     f"{', '.join(f'`{n}`' for n in spec.torch_positional)}.")
    if spec.flags:
        lines.append("")
        flags = ", ".join(f"`{f}`" for f in spec.flags)
        lines.append(f"Bare words that switch a flag on: {flags}.")
    if ignored:
        lines.append("")
        lines.append("Accepted and ignored (they change no shape or count): "
                     f"{', '.join(f'`{n}`' for n in ignored)}.")
    return "\n".join(lines)


def layer_names(family: Family) -> str:
    ours = sorted(n for n, e in catalog.DSL_NAMES.items() if e.spec.family is family)
    theirs = sorted(n for n, e in catalog.TORCH_NAMES.items() if e.spec.family is family)
    return (f"Names: {', '.join(f'`{n}`' for n in ours)}; in PyTorch's form "
            f"{', '.join(f'`nn.{n}(...)`' for n in theirs)}.")


def generated(family: Family) -> str:
    spec = next(e.spec for e in catalog.DSL_NAMES.values() if e.spec.family is family)
    return f"{layer_names(family)}\n\n{catalog_table(spec)}"


LANGUAGE = DOCS / "language.md"


def _section(family: Family) -> re.Pattern[str]:
    return re.compile(re.escape(BEGIN.format(family.value)) + r"\n(.*?)" + re.escape(END),
                      re.S)


def test_language_reference_tables_match_the_catalog() -> None:
    text = LANGUAGE.read_text(encoding="utf-8")
    if os.environ.get("SYMCONV_REGENERATE_DOCS"):
        for family in Family:
            text = _section(family).sub(
                lambda m, f=family: f"{BEGIN.format(f.value)}\n{generated(f)}\n{END}", text)
        LANGUAGE.write_text(text, encoding="utf-8")
    for family in Family:
        found = _section(family).search(text)
        assert found is not None, f"language.md has no generated table for {family.value}"
        assert found.group(1) == generated(family) + "\n", (
            f"the {family.value} table differs from the catalog; "
            "regenerate with SYMCONV_REGENERATE_DOCS=1 and read the diff")


KEYWORDS = ("input", "repeat", "residual", "shortcut", "concat", "scale", "channels_last")


def _family_of(word: str) -> Family | None:
    name = word.split("(")[0]
    for prefix in catalog.TORCH_PREFIXES:
        name = name.removeprefix(prefix)
    entry = catalog.DSL_NAMES.get(name) or catalog.TORCH_NAMES.get(name)
    return None if entry is None else entry.spec.family


def test_every_name_and_parameter_spelling_has_an_example() -> None:
    """Each layer name, and each parameter name and alias of each family, is used in some
    description on the language page (every such description is run by test_page_runs)."""
    used_names: set[str] = set()
    used: dict[Family, set[str]] = {family: set() for family in Family}
    for block in blocks(LANGUAGE):
        if block.language != "symconv":
            continue
        for line in block.text.splitlines():
            words = line.split("#")[0].split()
            if not words or _family_of(words[0]) is None:
                continue
            family = _family_of(words[0])
            assert family is not None
            used_names.add(words[0].split("(")[0])
            used[family] |= set(re.findall(r"(\w+)\s*=", line.split("#")[0]))
            used[family] |= set(words[1:])
    words = {w for b in blocks(LANGUAGE) if b.language == "symconv" for w in b.text.split()}
    assert sorted(set(KEYWORDS) - words) == [], "keywords without an example"
    missing_names = sorted(set(catalog.DSL_NAMES) - used_names)
    assert missing_names == [], f"layer names without an example: {missing_names}"
    for family in Family:
        spec = next(e.spec for e in catalog.DSL_NAMES.values() if e.spec.family is family)
        spellings = {s for p in spec.params if p.kind is not Kind.IGNORED
                     for s in (p.name, *p.aliases)}
        assert sorted(spellings - used[family]) == [], f"{family.value}: no example uses these"
