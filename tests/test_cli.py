"""The command line: NET as a file, '-' or -e; exit 0 on success, 2 on the user's errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from symconv.cli import main

EXAMPLES = Path(__file__).parent.parent / "examples"


def run(argv: list[str], stdin: str = "", monkeypatch: pytest.MonkeyPatch | None = None,
        capsys: pytest.CaptureFixture[str] | None = None) -> tuple[int, str, str]:
    assert monkeypatch is not None and capsys is not None
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_table_json_form(monkeypatch: pytest.MonkeyPatch,
                         capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["table", str(EXAMPLES / "alexnet.net"), "--format", "json"],
                       monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0
    document = json.loads(out)
    assert document["input"] == [1, 224, 224]
    assert document["output_shape"] == [10]
    assert document["params"] == 46764746
    first = {key: document["layers"][0][key] for key in (
        "index", "kind", "output_shape", "params", "neurons", "connections", "macs")}
    assert first == {"index": 1, "kind": "conv2d", "output_shape": [96, 54, 54],
                     "params": 11712, "neurons": 279936, "connections": 34152192,
                     "macs": 33872256}
    assert [layer["index"] for layer in document["layers"]] == list(range(1, 22))


def test_symbolic_values_are_sympy_strings(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["table", "-e", "input C x H x W\nconv K k=F s=S p=P", "--set", "C=3",
                        "--format", "json"], monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0
    layer = json.loads(out)["layers"][0]
    assert layer["output_shape"] == ["K", "floor((-F + H + 2*P)/S) + 1",
                                     "floor((-F + 2*P + W)/S) + 1"]
    assert layer["params"] == "K*(3*F**2 + 1)"


@pytest.mark.parametrize("fmt", ["text", "json", "markdown", "latex"])
def test_every_format_from_stdin(fmt: str, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["table", "-", "--format", fmt],
                       stdin="input 3 x 32 x 32\nconv 10 k=5 p=2\n",
                       monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0
    assert "760" in out


def test_input_and_set_options(monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["table", "-e", "conv 8 k=3 s=S", "--input", "3xHxW", "--set", "H=33",
                        "--set", "W=65", "--set", "S=2", "--format", "json"],
                       monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0
    assert json.loads(out)["output_shape"] == [8, 16, 32]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["table", "-e", "input 3x8x8\nconv 4 kernal=3"], "did you mean 'kernel'?"),
        (["table", "-e", "conv 4 k=3"], "no input shape"),
        (["table", "no/such/file.net"], "cannot read no/such/file.net"),
        (["table", "-e", "input 3x8x8\nconv 4 k=3", "--set", "Q=3"], "unknown symbol 'Q'"),
        (["table", "-e", "input 3x8x8\nconv 4 k=3", "--set", "W"], "--set takes NAME=VALUE"),
        (["table"], "no network"),
    ],
)
def test_user_errors_exit_2_with_one_message(argv: list[str], message: str,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(argv, monkeypatch=monkeypatch, capsys=capsys)
    assert code == 2
    assert out == ""
    assert err.startswith("symconv: error: ") and message in err
    assert "Traceback" not in err


def test_console_script_and_module_entry_points() -> None:
    for command in (["symconv"], [sys.executable, "-m", "symconv"]):
        done = subprocess.run([*command, "table", str(EXAMPLES / "seed_conv.net")],
                              capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        assert "760" in done.stdout


@pytest.mark.parametrize(
    ("argv", "code", "first_line"),
    [
        (["--target", "112"], 0, "P = 3"),
        (["--target", "ceil(224/2)x112"], 0, "P = 3"),
        (["--target", "50"], 1,
         "no solution: no integer P gives 50 x 50: P = 0 already gives 109 x 109"),
    ],
)
def test_solve_exit_status_and_answer(argv: list[str], code: int, first_line: str,
                                      monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    got, out, _ = run(["solve", "-e", "input 3 x 224 x 224\nconv 64 k=7 s=2 p=P", "--for", "P",
                       *argv], monkeypatch=monkeypatch, capsys=capsys)
    assert (got, out.splitlines()[0]) == (code, first_line)


def test_solve_says_a_single_symbolic_value_as_one(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["solve", "-e", "input 3 x W x W\nconv 64 k=3 p=P", "--for", "P",
                     "--target", "W"], monkeypatch=monkeypatch, capsys=capsys)
    assert out.splitlines()[0] == "P = 1"


def test_aligned_sizes_once_per_condition(monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    square = "input 3 x W x W\nconv 8 k=3 s=2 p=1"
    _, out, _ = run(["solve", "-e", square, "--aligned"], monkeypatch=monkeypatch,
                    capsys=capsys)
    assert out.splitlines() == ["W = 1 (mod 2), W >= 1"]
    _, out, _ = run(["solve", "-e", square.replace("W x W", "H x W"), "--aligned"],
                    monkeypatch=monkeypatch, capsys=capsys)
    assert out.splitlines() == ["H = 1 (mod 2), H >= 1", "W = 1 (mod 2), W >= 1"]


def test_solutions_print_and_display_in_jupyter() -> None:
    import symconv

    solution = symconv.solve("input 3 x 224 x 224\nconv 64 k=7 s=2 p=P", "P", "112")
    assert str(solution).splitlines()[0] == "P = 3"
    assert solution._repr_latex_().startswith("\\begin{gather*}")
    assert "P = 3" in solution._repr_latex_()
    # the answer as math, which Jupyter (preferring Markdown) typesets; not a code block
    assert solution._repr_markdown_().startswith("$$\n\\begin{gathered}\nP = 3\n")


FLAT = "input 3x32x32\nconv 8 k=3 s=2 p=1\nmaxpool k=2\nflatten\nlinear 10"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["rf", "-e", FLAT, "--layer", "4"], "layer 4 (linear) has no spatial axes left"),
        (["rf", "-e", FLAT, "--unit", "100,100"], "H = 100 is not a unit of layer 2"),
        (["rf", "-e", FLAT, "--unit", "1.5,2"], "H = 3/2 is not a unit of layer 2"),
        (["solve", "-e", "input 3 x 224 x 224\nconv 64 k=7 s=2 p=P", "--for", "P",
          "--target", "P+1"], "the target size may not contain P"),
        (["solve", "-e", "input 3 x W x W\nconv 64 k=7 s=S p=3", "--aligned", "--set", "S=0"],
         "stride must be at least 1, got 0"),
        (["solve", "-e", "input 3 x W x W\nconv 64 k=7 s=2 p=3", "--aligned", "--set", "W=5"],
         "give W no value"),
        (["table", "-e", "input 3 x 16 x 16\nconv 8 k=K", "--set", "K=nn.Conv2d(3,8,3)"],
         "a layer (nn.Conv2d) stands where a number or a name is expected"),
        (["table", "-e", "input 3 x 16 x 16\nconv 8 k=3 s=2 p=P", "--set", "P=1/2"],
         "layer 1 (conv2d): padding must be a whole number, got 1/2 (P = 1/2)"),
        (["table", "-e", "conv 8 k=3", "--input", "3x16x16x16x16"],
         "PyTorch's convolutions and pools have 1 to 3 spatial axes; this input has 4"),
        (["table", "-e", "input 3 x 8 x 8\nrepeat 10**12 { relu }"],
         "counts above 10000 are too many to unroll"),
        (["design", "--size", "224", "--target", "112", "--top", "0"], "--top 0"),
    ],
)
def test_odd_options_get_a_message(argv: list[str], message: str,
                                   monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(argv, monkeypatch=monkeypatch, capsys=capsys)
    assert (code, out) == (2, "")
    assert message in err


def test_input_option_takes_a_tuple(monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["table", "-e", "conv 8 k=3", "--input", "(3, 16, 16)", "--format",
                        "json"], monkeypatch=monkeypatch, capsys=capsys)
    assert code == 0
    assert json.loads(out)["output_shape"] == [8, 14, 14]


# ---------------------------------------------------------------- input that is not a description

SYMCONV = [sys.executable, "-m", "symconv"]
NET = "input 3 x 32 x 32\nconv 10 k=5 p=2\n"


def _fifo(tmp: Path) -> str:
    import os

    os.mkfifo(tmp / "fifo")  # nobody writes to it
    return str(tmp / "fifo")


def _file(data: bytes) -> Callable[[Path], str]:
    def make(tmp: Path) -> str:
        (tmp / "net").write_bytes(data)
        return str(tmp / "net")
    return make


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: "/dev/zero", "cannot read /dev/zero: longer than 1 MiB"),
        (_fifo, "no input shape"),  # an empty description, at once: never a hang
        (lambda tmp: str(tmp), "Is a directory"),
        (_file(b"\x7fELF\x02\x01\x01\x00\x00\x00"), "a binary file (it holds NUL bytes)"),
        (_file(b"input 3 x 8\n\xff\xfe conv"), "not UTF-8 text (byte 0xff at offset 12)"),
        (_file(b"x" * (1 << 20) + b"\n"), "longer than 1 MiB"),
    ],
)
def test_input_that_is_not_a_description(make: Callable[[Path], str], message: str,
                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["table", make(tmp_path)], monkeypatch=monkeypatch, capsys=capsys)
    assert (code, out) == (2, "")
    assert err.startswith("symconv: error: ") and message in err
    assert len(err.splitlines()) <= 3, err


def test_closed_standard_input() -> None:
    done = subprocess.run(["sh", "-c", '"$0" -m symconv table - <&-', sys.executable],
                          capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == ("symconv: error: cannot read standard input: it is closed; give a "
                           "file or -e TEXT\n")


@pytest.mark.parametrize(
    "data",
    [
        b"\xef\xbb\xbf" + NET.encode(),  # a byte-order mark, as Windows editors write
        NET.replace("\n", "\r\n").encode(),
        NET.replace("\n", "\r").encode(),  # lone CRs, as old Mac files have
        NET.replace("3 x 32 x 32", "3 \u00d7 32 \u00d7 32").encode(),
        NET.replace("3 x 32 x 32", "3\u00d732\u00d732").encode(),
    ],
)
def test_text_people_really_have(data: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "net").write_bytes(data)
    plain = run(["table", "-e", NET], monkeypatch=monkeypatch, capsys=capsys)
    assert plain[0] == 0 and "760" in plain[1]
    assert run(["table", str(tmp_path / "net")], monkeypatch=monkeypatch,
               capsys=capsys) == plain
    assert run(["table", "-"], data.decode(), monkeypatch=monkeypatch, capsys=capsys) == plain


# ---------------------------------------------------------------- output that cannot be written


def test_a_reader_that_stops_early_ends_the_program_quietly() -> None:
    import os

    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first byte (`| head -n 0`)
    try:
        done = subprocess.run([*SYMCONV, "table", str(EXAMPLES / "alexnet.net")], stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=60, check=False)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (141, "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["table", str(EXAMPLES / "alexnet.net")], "cannot write standard output: No space"),
        (["notes", str(EXAMPLES / "seed_conv.net")], "cannot write standard output: No space"),
        (["notes", str(EXAMPLES / "seed_conv.net"), "-o", "/dev/full"],
         "cannot write /dev/full: No space left on device"),
        (["formulas", "-o", "/dev/full"], "cannot write /dev/full: No space left on device"),
    ],
)
def test_a_full_disk(args: list[str], message: str) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run([*SYMCONV, *args], stdout=full, stderr=subprocess.PIPE,
                              text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert done.stderr == f"symconv: error: {done.stderr.removeprefix('symconv: error: ')}"
    assert message in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr


def test_notes_dash_o_dash_writes_to_standard_output(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["notes", str(EXAMPLES / "seed_conv.net"), "-o", "-"],
                         monkeypatch=monkeypatch, capsys=capsys)
    assert (code, err) == (0, "")
    assert out.startswith("\\documentclass") and out.rstrip().endswith("\\end{document}")
    assert not Path("-").exists()


# ---------------------------------------------------------------- the last line of defence


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (RuntimeError("boom\nsecond line"), "RuntimeError: boom (please report it)"),
        # SymPy recursing on a small network is a bug, not "nested too deeply"
        (RecursionError("maximum recursion depth exceeded"),
         "RecursionError: maximum recursion depth exceeded (please report it)"),
        (KeyError("\x1b[31m"), "KeyError: '\\x1b[31m' (please report it)"),
    ],
)
def test_unexpected_exceptions_are_one_line_and_exit_70(
        error: Exception, line: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from symconv.network import Network

    def fail(*args: object, **kwargs: object) -> object:
        raise error

    monkeypatch.setattr(Network, "table", fail)
    code, out, err = run(["table", str(EXAMPLES / "seed_conv.net")], monkeypatch=monkeypatch,
                         capsys=capsys)
    assert (code, out) == (70, "")
    assert err == f"symconv: internal error: {line}\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["design", "--size", "x", "--target", "3"],
         "symconv: error: argument --size: expected a whole number, got 'x'"),
        (["table", "--format", "pdf", "-e", "relu"], "symconv: error: argument --format"),
        (["nosuchcommand"], "symconv: error: argument COMMAND: invalid choice"),
    ],
)
def test_usage_errors_say_symconv_error(argv: list[str], message: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: ") and message in err
