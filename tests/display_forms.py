"""Readers of the rich forms symconv gives Jupyter, for the tests that compare them: each
reduces a Markdown or a LaTeX form to the rows of math it shows, so that the two forms of
one object can be compared row by row, and checks an HTML form is well-formed."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from symconv.present.latex import MATH_ESCAPES, escape_text, math_text

_MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_{}\[\]<>()#+\-.!|$])")
_NUMBER = re.compile(r"-?\d+")


def _word(text: str) -> str:
    return r"\text{" + escape_text(text) + "}"


def _markdown_cell(cell: str) -> str:
    """A Markdown table cell as the LaTeX array writes it."""
    if cell.startswith("$") and cell.endswith("$") and len(cell) > 1:
        return cell[1:-1]
    if not cell or _NUMBER.fullmatch(cell) or _NUMBER.fullmatch(cell.replace(" × ", "")):
        return cell.replace(" × ", r" \times ")
    depth = cell.count("&nbsp;") // 2
    word = _MARKDOWN_ESCAPE.sub(r"\1", cell.replace("&nbsp;", "").strip("*"))
    return r"\quad " * depth + math_text(word)


def table_rows_markdown(markdown: str) -> list[str]:
    """The table's rows after its header, each as the LaTeX array's row; then any note."""
    lines = markdown.strip("\n").split("\n")
    assert lines[1].startswith("|---"), markdown[:200]
    rows = []
    for line in lines[2:]:
        if line.startswith("| "):
            cells = [c.strip() for c in line[1:-1].split(" | ")]
            # the label column: '#' as it is, the others as math
            rows.append(" & ".join([cells[0], *map(_markdown_cell, cells[1:])]))
        elif line:
            rows.append(_MARKDOWN_ESCAPE.sub(r"\1", line))
    return rows


def _plain(math: str) -> str:
    """The text that math_text set as math."""
    unescaped = {"{" + tex + "}": char for char, tex in MATH_ESCAPES.items()}
    parts = re.findall(r"\\text\{([^{}]*)\}|(\{[^{}]*(?:\{\\ \})?\})", math)
    return "".join(text or unescaped[tex] for text, tex in parts)


def table_rows_latex(latex: str) -> list[str]:
    """The array's rows after its header (\\hline dropped); then any note (a row of text
    in the same display, under the array), as plain text."""
    assert latex.startswith("$$") and latex.endswith("$$"), latex[-200:]
    body, _, notes = latex.removeprefix("$$\\begin{array}{l}\n").partition(r"\end{array}")
    lines = [line for line in body.split("\n")[2:] if line and line != r"\hline"]
    rows = [line.removesuffix(r" \\").rstrip() for line in lines]
    rows += [_plain(line.removesuffix(r" \\")) for line in notes.split("\n")[1:]
             if line and line != r"\end{array}$$"]
    return [re.sub(r"\s+", " ", row) for row in rows]


def normalised(rows: list[str]) -> list[str]:
    return [re.sub(r"\s+", " ", row).strip() for row in rows]


def _display_rows(markdown: str, environment: str) -> list[list[str]]:
    """The rows of each $$ \\begin{environment} … $$ block of a Markdown text."""
    blocks = re.findall(r"\$\$\n\\begin\{" + environment + r"\}\n(.*?)\n\\end\{" + environment
                        + r"\}\n\$\$", markdown, re.S)
    return [block.split(" \\\\\n") for block in blocks]


def derivation_rows_markdown(markdown: str) -> list[str]:
    """The input sizes, then per layer its title and its steps' rows, as the LaTeX block."""
    head = markdown.split("\n\n")[0]
    sizes = re.findall(r"\$(.*?)\$", head)
    rows = [r"&\text{Input: } " + ", ".join(sizes)]
    titles = re.findall(r"^\*\*(.*)\*\*$", markdown, re.M)
    blocks = _display_rows(markdown, "aligned")
    assert len(titles) == len(blocks), markdown[:300]
    for title, block in zip(titles, blocks, strict=True):
        rows.append(r"&" + _word(_MARKDOWN_ESCAPE.sub(r"\1", title)))
        rows += block
    return rows


def derivation_rows_latex(latex: str) -> list[str]:
    match = re.fullmatch(r"\$\$\\begin\{aligned\}\n(.*)\n\\end\{aligned\}\$\$", latex, re.S)
    assert match, latex[:300]
    return match.group(1).split(" \\\\\n")


def solution_rows_markdown(markdown: str) -> list[str]:
    return [row for block in _display_rows(markdown, "gathered") for row in block]


def solution_rows_latex(latex: str) -> list[str]:
    match = re.fullmatch(r"\\begin\{gather\*\}\n(.*)\n\\end\{gather\*\}\n", latex, re.S)
    assert match, latex[:300]
    return match.group(1).split(" \\\\\n")


class _Tree(HTMLParser):
    """Checks every element is closed in order; collects the text of each <tr>'s cells."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.rows: list[list[str]] = []
        self.details = 0
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open.append(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag == "td":
            self._cell = []
        elif tag == "details":
            self.details += 1

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1:]}>"
        self.open.pop()
        if tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None and self.open[-1] == "td":
            self._cell.append(data)


def html_rows(text: str) -> tuple[list[list[str]], int]:
    """The cells of every row (a nested table's rows where they stand) and the number of
    <details> elements; fails unless every element is closed in order."""
    tree = _Tree()
    tree.feed(text)
    tree.close()
    assert not tree.open, f"unclosed: {tree.open}"
    return tree.rows, tree.details
