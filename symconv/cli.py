"""The command line: `symconv SUBCOMMAND NET ...`; every subcommand reads NET the same way.

NET is a file, `-` for standard input, or `-e TEXT`. Errors a user can cause print one clear
message and exit 2; success exits 0. A reader that stops early (`| head`) ends the program
quietly; anything else that goes wrong is an internal error (exit 70), never a traceback.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
from collections.abc import Sequence
from typing import IO, Any, NoReturn

from symconv.errors import SymconvError, UnknownNameError, visible
from symconv.network import Network, parse
from symconv.parse import MAX_TEXT, MAX_TEXT_WORDS, check_digits, parse_expression, parse_shape
from symconv.symbols import Value

USER_ERROR = 2
INTERNAL_ERROR = 70  # EX_SOFTWARE of sysexits.h
READER_GONE = 128 + 13  # as a shell reports a program ended by SIGPIPE


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, its errors said as every other error: `symconv: error: ...`."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(USER_ERROR, f"symconv: error: {message}\n")


def whole_option(text: str) -> int:
    """An integer option's value (argparse type): digits with a sign, at most MAX_DIGITS."""
    digits = text.strip().removeprefix("-").removeprefix("+")
    if not digits.isdecimal() or not digits.isascii():
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'")
    try:
        check_digits(digits)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return int(text)


def add_network_arguments(parser: argparse.ArgumentParser) -> None:
    """NET, -e TEXT, --input SHAPE and repeated --set NAME=VALUE."""
    parser.add_argument("net", nargs="?", metavar="NET",
                        help="a description file, or - for standard input")
    parser.add_argument("-e", "--expr", metavar="TEXT", help="the description itself")
    parser.add_argument("--input", metavar="SHAPE",
                        help="input shape such as 3x224x224 or 'C x H x W' "
                        "(replaces an input line)")
    parser.add_argument("--set", metavar="NAME=VALUE", action="append", default=[],
                        help="give a symbol a value (repeatable): --set W=224")


def read_text(args: argparse.Namespace) -> str:
    """The description named by NET, -, or -e: at most MAX_TEXT bytes of UTF-8 text."""
    if args.expr is not None and args.net is not None:
        raise SymconvError("give the network either as NET or with -e, not both")
    if args.expr is not None:
        return str(args.expr).replace("\\n", "\n")
    if args.net is None:
        raise SymconvError("no network: give a file, - for standard input, or -e TEXT")
    if args.net == "-":
        return _read_stdin()
    try:
        # Non-blocking open: a FIFO nobody writes to reads as empty instead of waiting.
        fd = os.open(args.net, os.O_RDONLY | os.O_NONBLOCK)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            return _decoded(handle.read(MAX_TEXT + 1), args.net)
    except OSError as error:
        raise SymconvError(f"cannot read {args.net}: {error.strerror or error}") from None


def _read_stdin() -> str:
    stdin: IO[Any] | None = sys.stdin
    if stdin is None or stdin.closed:
        raise SymconvError("cannot read standard input: it is closed; give a file or -e TEXT")
    try:
        binary = getattr(stdin, "buffer", None)
        if binary is not None:
            return _decoded(binary.read(MAX_TEXT + 1), "standard input")
        text = stdin.read(MAX_TEXT + 1)
    except OSError as error:
        raise SymconvError(
            f"cannot read standard input: {error.strerror or error}") from None
    if len(text) > MAX_TEXT:
        raise SymconvError(f"cannot read standard input: longer than {MAX_TEXT_WORDS}")
    return str(text)


def _decoded(data: bytes, name: str) -> str:
    """The bytes read as a description's text, or a SymconvError saying why they are not."""
    if len(data) > MAX_TEXT:
        raise SymconvError(f"cannot read {name}: longer than {MAX_TEXT_WORDS}, which no "
                           "description is")
    if b"\0" in data:
        raise SymconvError(f"cannot read {name}: a binary file (it holds NUL bytes), not a "
                           "description")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SymconvError(f"cannot read {name}: not UTF-8 text (byte 0x{data[error.start]:02x}"
                           f" at offset {error.start})") from None


def write_file(name: str, text: str) -> None:
    """Write text to the file named as the user wrote it (-o FILE): `out/` is a directory,
    never the file `out` (as pathlib would make it), and '' no file at all."""
    try:
        if not name:
            raise FileNotFoundError(2, "No such file or directory")
        with open(name, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as error:
        raise SymconvError(f"cannot write {name or repr(name)}: {error.strerror or error}"
                           ) from None


def load_network(args: argparse.Namespace) -> Network:
    shape = None if args.input is None else read_option("--input", parse_shape, args.input)
    return parse(read_text(args), shape)


def values_from(args: argparse.Namespace) -> dict[str, Value]:
    """The --set NAME=VALUE pairs as {name: value}."""
    values: dict[str, Value] = {}
    for item in args.set:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier() or not name.isascii():
            raise UnknownNameError(f"--set takes NAME=VALUE, such as W=224; got '{item}'")
        values[name] = read_option(f"--set {name}", parse_expression, text)
    return values


def read_option(option: str, read: Any, text: str) -> Any:
    """An option's text read by `read`, an error in it naming the option."""
    try:
        return read(text)
    except SymconvError as error:
        where = error.source  # a column of the option's value, not a line of the description
        message = f"{option}: {error.message}" if where is None else (
            f"{option}, column {where.column}: {error.message}\n{where.pointer()}")
        raise type(error)(message, None, error.layer) from None


def build_parser() -> argparse.ArgumentParser:
    from symconv.commands import COMMANDS

    parser = ArgumentParser(
        prog="symconv",
        description="Closed-form arithmetic of convolutional networks: shapes, counts, "
        "receptive fields, solvers and LaTeX derivations.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser


class _ReaderGone(Exception):
    """Standard output's reader went away (`symconv table NET | head -n 1`)."""


class _Output:
    """Standard output, its write errors said as symconv's own: a full disk is a
    SymconvError, a reader that left is _ReaderGone."""

    def __init__(self, stream: IO[str]):
        self.stream = stream
        self.failed = False

    def write(self, text: str) -> int:
        return self._guard(self.stream.write, text)

    def flush(self) -> None:
        self._guard(self.stream.flush)

    def _guard(self, action: Any, *args: Any) -> Any:
        try:
            return action(*args)
        except BrokenPipeError:
            self.failed = True
            raise _ReaderGone from None
        except OSError as error:
            self.failed = True
            raise SymconvError(
                f"cannot write standard output: {error.strerror or error}") from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _discard(stream: IO[str]) -> None:
    """Send what is still buffered for a failed stream to /dev/null, so that Python's exit
    does not report the same failure again."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, stream.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    real = sys.stdout
    out = _Output(real)
    sys.stdout = out
    # Python prints no int beyond 4300 digits, a guard for programs that read numbers of any
    # length. symconv reads at most MAX_DIGITS digits and keeps every size and count within
    # them, but a value on the way (a solver's bound, a rule's message) may be longer.
    digits = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        code: int = args.run(args)
        out.flush()
    except _ReaderGone:
        return READER_GONE
    except SymconvError as error:
        print(f"symconv: error: {error}", file=sys.stderr)
        return USER_ERROR
    except KeyboardInterrupt:
        return 128 + 2
    except Exception as error:  # a bug: one line, never a traceback; the tests forbid it
        message = visible(str(error).splitlines()[0] if str(error) else "")
        print(f"symconv: internal error: {type(error).__name__}: {message} (please report it)",
              file=sys.stderr)
        return INTERNAL_ERROR
    finally:
        sys.set_int_max_str_digits(digits)
        sys.stdout = real
        if out.failed:
            _discard(real)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
