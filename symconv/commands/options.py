"""What every subcommand shares: reading NET (a file, `-` for standard input, or `-e TEXT`),
`--set` values and whole-number options, writing output files, and argparse's errors said as
every other error. The subcommands import this; the command line (symconv.cli) imports them."""

from __future__ import annotations

import argparse
import fcntl
import os
import sys
from typing import IO, Any, NoReturn

from symconv.algebra.symbols import Value
from symconv.errors import SymconvError, UnknownNameError
from symconv.language.layers import Convention
from symconv.language.parse import (
    MAX_TEXT,
    MAX_TEXT_WORDS,
    check_digits,
    parse_expression,
    parse_shape,
)
from symconv.network import Network, parse

USER_ERROR = 2


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
    parser.add_argument("--convention", choices=[c.value for c in Convention], default=None,
                        help="whose padding='same': torch (PyTorch's: stride 1, keeps the "
                        "size; the default) or tensorflow (TensorFlow's 'SAME': any stride, "
                        "output ceil(n/s), also on pools); replaces a convention line")
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
    convention = None if args.convention is None else Convention(args.convention)
    return parse(read_text(args), shape, convention)


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
