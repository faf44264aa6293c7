"""Shared test options.

- `pytest --update-golden` (or SYMCONV_UPDATE_GOLDEN=1) rewrites the golden files in
  tests/golden/ from the current output; read the diff before committing.
- Tests that compile LaTeX take the `pdflatex` fixture: without pdflatex they skip with the
  reason, unless SYMCONV_REQUIRE_TEX=1 (set by .ci/run, which installs TeX Live), where a
  missing pdflatex fails them, so the compile tests can never silently stop running in CI.
- Hypothesis runs derandomised (the same examples on every machine and every run, so the
  suite is never flaky); SYMCONV_HYPOTHESIS=explore draws new examples for a local hunt.
  Every example a hunt finds is pinned with `@example` beside the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("derandomized", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(
    "explore" if os.environ.get("SYMCONV_HYPOTHESIS") == "explore" else "derandomized"
)

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


def _missing_tex(reason: str) -> None:
    if os.environ.get("SYMCONV_REQUIRE_TEX") == "1":
        pytest.fail(f"{reason}; SYMCONV_REQUIRE_TEX=1 forbids skipping them")
    pytest.skip(reason)


def need_pdflatex() -> str:
    """The pdflatex executable; skips the test without one (fails instead where
    SYMCONV_REQUIRE_TEX=1, as in CI)."""
    exe = shutil.which("pdflatex")
    if exe is None:
        _missing_tex("pdflatex is not installed: the LaTeX compile tests need TeX Live "
                     "(apt-get install texlive-latex-base texlive-latex-recommended)")
    assert exe is not None
    return exe


def need_tikz() -> str:
    """pdflatex with TikZ (the figures of `symconv draw`); skips as need_pdflatex does."""
    exe = need_pdflatex()
    kpsewhich = shutil.which("kpsewhich")
    found = kpsewhich is not None and subprocess.run(
        [kpsewhich, "tikz.sty"], capture_output=True, text=True).stdout.strip()
    if not found:
        _missing_tex("TikZ is not installed: the figure compile tests need it "
                     "(apt-get install texlive-pictures)")
    return exe


@pytest.fixture
def pdflatex() -> str:
    """pdflatex for tests that compile LaTeX (see need_pdflatex)."""
    return need_pdflatex()
