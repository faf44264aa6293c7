"""The command line: `symconv SUBCOMMAND NET ...`; every subcommand reads NET the same way.

NET is a file, `-` for standard input, or `-e TEXT`. Errors a user can cause print one clear
message and exit 2; success exits 0. A reader that stops early (`| head`) ends the program
quietly; anything else that goes wrong is an internal error (exit 70), never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import IO, Any

from symconv.commands import COMMANDS
from symconv.commands.options import USER_ERROR, ArgumentParser
from symconv.errors import SymconvError, visible

INTERNAL_ERROR = 70  # EX_SOFTWARE of sysexits.h
READER_GONE = 128 + 13  # as a shell reports a program ended by SIGPIPE


def build_parser() -> argparse.ArgumentParser:
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
