"""Shared test options: `pytest --update-golden` (or SYMCONV_UPDATE_GOLDEN=1) rewrites the
golden files in tests/golden/ from the current output; read the diff before committing."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/golden/ from the current output")


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """check(name, text): text must equal tests/golden/<name> (rewritten when updating)."""
    update = request.config.getoption("--update-golden") or os.environ.get(
        "SYMCONV_UPDATE_GOLDEN") == "1"

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if update:
            path.write_text(text, encoding="utf-8")
            return
        assert path.exists(), f"no golden file {path}: run `pytest --update-golden` and read it"
        expected = path.read_text(encoding="utf-8")
        assert text == expected, (
            f"output differs from {path}; if the change is intended, run "
            "`pytest --update-golden` and review the diff"
        )

    return check
