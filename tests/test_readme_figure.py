"""The README's figure is a PNG made by the project's own command, shown next to that
command: the command in the README is the one here, the file it names exists and is a PNG,
and running the command again makes a PNG of the same size (not the same bytes: those
differ between TeX versions)."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest
from conftest import need_tikz

from symconv.cli import main

ROOT = Path(__file__).parent.parent
FIGURE = "docs/figures/resnet18-conv1.png"
COMMAND = ["draw", "examples/resnet18.net", "--layer", "1", "--unit", "1,1", "--format", "png",
           "-o", FIGURE]
PNG = b"\x89PNG\r\n\x1a\n"


def _size(data: bytes) -> tuple[int, int]:
    """A PNG's width and height, from its IHDR chunk (the first, right after the
    signature)."""
    assert data[:8] == PNG and data[12:16] == b"IHDR", data[:16]
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_readme_shows_the_figure_next_to_its_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = "symconv " + " ".join(COMMAND)
    blocks = re.findall(r"^```sh\n(.*?)^```", readme, re.M | re.S)
    assert command + "\n" in blocks, blocks
    after = readme[readme.index(command):]
    image = re.search(r"!\[[^\]]+\]\(([^)]+)\)", after)
    assert image is not None and image.group(1) == FIGURE
    assert after.index(image.group(0)) < 400  # right below the command, nothing between
    assert _size((ROOT / FIGURE).read_bytes())[0] > 300


def test_the_command_makes_a_png_of_the_same_size(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    need_tikz()
    monkeypatch.chdir(ROOT)
    made = tmp_path / "figure.png"
    assert main([*COMMAND[:-1], str(made)]) == 0
    assert _size(made.read_bytes()) == _size((ROOT / FIGURE).read_bytes())
