"""Text -> parse tree -> statements: the layer language read with Lark.

The statements are still raw (names and argument values as written); `build.py` turns them
into layers. Every statement and argument carries its `Source` for error messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, TypeAlias

import lark
import sympy
from lark import Lark, Token, Transformer, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from symconv.errors import Source, SymconvError, SyntaxProblem
from symconv.symbols import Value, as_value, symbol

# ---------------------------------------------------------------- statements


@dataclass(frozen=True, slots=True)
class Arg:
    """An argument as written: an expression, a tuple, a quoted string or a nested call."""

    value: RawValue
    source: Source


@dataclass(frozen=True, slots=True)
class Keyword:
    name: str
    value: RawValue
    source: Source


@dataclass(frozen=True, slots=True)
class RawLayer:
    """`conv 64 k=3` (call=False) or `nn.Conv2d(3, 64, 3)` (call=True), not yet resolved."""

    name: str
    args: tuple[Arg, ...]
    keywords: tuple[Keyword, ...]
    call: bool
    source: Source


@dataclass(frozen=True, slots=True)
class InputDecl:
    shape: tuple[Value, ...]
    source: Source


@dataclass(frozen=True, slots=True)
class RawBlock:
    """`repeat N { ... }`, `residual { ... } shortcut { ... }`, `concat { ... } { ... }`."""

    name: str
    argument: Arg | None
    bodies: tuple[tuple[Statement, ...], ...]
    source: Source


RawValue: TypeAlias = "Value | tuple[Value, ...] | str | RawLayer"
Statement: TypeAlias = "InputDecl | RawLayer | RawBlock"


# ---------------------------------------------------------------- the parser

# Functions an expression may use, e.g. a target size --target 'ceiling(W/2)'.
_FUNCTIONS = {"floor": sympy.floor, "ceil": sympy.ceiling, "ceiling": sympy.ceiling,
              "min": sympy.Min, "max": sympy.Max}

# Sizes beyond these are typing mistakes; refusing them keeps exact arithmetic quick.
_MAX_DIGITS = 4000
_MAX_EXPONENT = 4096


def _exponent(number: str) -> int:
    """The decimal exponent written in a number such as 1e400 (0 when there is none)."""
    _, e, power = number.lower().partition("e")
    return abs(int(power)) if e and power.lstrip("+-").isdigit() else 0



class _ParenNewlines:
    """Post-lexer: newlines inside ( ) and [ ] do not end a statement (as in Python)."""

    always_accept = ("_NL",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        depth = 0
        for token in stream:
            if token.type in ("CALL", "LPAR", "LSQB"):
                depth += 1
            elif token.type in ("RPAR", "RSQB"):
                depth = max(depth - 1, 0)
            elif token.type == "_NL" and depth > 0:
                continue
            yield token


@cache
def _parser() -> Lark:
    text = resources.files("symconv.grammar").joinpath("symconv.lark").read_text("utf-8")
    return Lark(
        text,
        parser="lalr",
        lexer="contextual",
        postlex=_ParenNewlines(),
        propagate_positions=True,
        maybe_placeholders=True,
        start=["start", "shape", "expr"],
        # Lark keeps the analysed grammar in a file under the temporary directory, keyed by
        # the grammar's text and options: later runs load it instead of analysing again.
        cache=True,
    )


def _source(lines: list[str], line: int, column: int) -> Source:
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    return Source(line, column, text.rstrip("\r"))


class _ToStatements(Transformer[Token, Any]):
    """One short method per grammar rule; expressions become SymPy, layers raw records."""

    def __init__(self, lines: list[str]):
        super().__init__()
        self._lines = lines

    def _at(self, meta: Any) -> Source:
        return _source(self._lines, meta.line, meta.column)

    def _too_large(self, token: Token, message: str) -> SyntaxProblem:
        return SyntaxProblem(message, _source(self._lines, token.line or 1, token.column or 1))

    # expressions
    def number(self, children: list[Token]) -> sympy.Expr:
        text = str(children[0])
        if len(text) > _MAX_DIGITS or _exponent(text) > _MAX_DIGITS:
            raise self._too_large(children[0], f"the number {text[:20]}… is too large")
        if text.isdigit():
            return sympy.Integer(int(text))
        return sympy.Rational(text)

    def name(self, children: list[Token]) -> sympy.Expr:
        return symbol(str(children[0]))

    @v_args(inline=True)
    def add(self, a: Any, b: Any) -> Any:
        _numbers(a, b)
        return a + b

    @v_args(inline=True)
    def sub(self, a: Any, b: Any) -> Any:
        _numbers(a, b)
        return a - b

    @v_args(inline=True)
    def mul(self, a: Any, b: Any) -> Any:
        _numbers(a, b)
        return a * b

    @v_args(meta=True)
    def div(self, meta: Any, children: list[Any]) -> Any:
        a, b = _numbers(*children)
        if b == 0:
            raise SyntaxProblem("division by zero", self._at(meta))
        return sympy.sympify(a, strict=True) / b

    @v_args(meta=True)
    def floordiv(self, meta: Any, children: list[Any]) -> Any:
        a, b = _numbers(*children)
        if b == 0:
            raise SyntaxProblem("division by zero", self._at(meta))
        return a // b

    @v_args(inline=True)
    def neg(self, a: Any) -> Any:
        _numbers(a)
        return -a

    @v_args(meta=True)
    def pow(self, meta: Any, children: list[Any]) -> Any:
        a, b = _numbers(*children)
        if not (b.is_Symbol or (b.is_Integer and 0 <= b <= _MAX_EXPONENT)):
            raise SyntaxProblem(
                f"an exponent must be a name or a whole number from 0 to {_MAX_EXPONENT}",
                self._at(meta),
            )
        if a.is_Integer and b.is_Integer and abs(a) > 1 and b * len(str(abs(a))) > _MAX_DIGITS:
            raise SyntaxProblem("the power is too large", self._at(meta))
        return a**b

    # values
    def items(self, children: list[Any]) -> tuple[Value, ...]:
        return tuple(as_value(c) for c in _numbers(*(c for c in children if c is not None)))

    def string(self, children: list[Token]) -> str:
        return str(children[0])[1:-1]

    def shape_literal(self, children: list[Token]) -> tuple[Value, ...]:
        text = str(children[0]).replace("×", "x")
        return tuple(int(part) for part in text.split("x"))

    def shape(self, children: list[Any]) -> tuple[Value, ...]:
        return tuple(as_value(c) for c in _numbers(*children))

    # statements
    @v_args(meta=True)
    def input_decl(self, meta: Any, children: list[Any]) -> InputDecl:
        return InputDecl(children[0], self._at(meta))

    @v_args(meta=True)
    def positional(self, meta: Any, children: list[Any]) -> Arg:
        return Arg(_plain(children[0]), self._at(meta))

    @v_args(meta=True)
    def keyword(self, meta: Any, children: list[Any]) -> Keyword:
        return Keyword(str(children[0]), _plain(children[1]), self._at(meta))

    @v_args(meta=True)
    def layer(self, meta: Any, children: list[Any]) -> RawLayer:
        name, *rest = children
        return self._raw(str(name), rest, call=False, meta=meta)

    @v_args(meta=True)
    def call(self, meta: Any, children: list[Any]) -> RawLayer | sympy.Expr:
        name, *rest = children
        raw = self._raw(str(name)[:-1], [r for r in rest if r is not None], True, meta)
        function = _FUNCTIONS.get(raw.name)
        if function is None:
            return raw
        values = [a.value for a in raw.args]
        if raw.keywords or not values or not all(
            isinstance(v, int | sympy.Expr) for v in values
        ):
            raise SyntaxProblem(f"{raw.name}() takes numbers or expressions", raw.source)
        return function(*values)

    def _raw(self, name: str, rest: list[Any], call: bool, meta: Any) -> RawLayer:
        args = tuple(r for r in rest if isinstance(r, Arg))
        keywords = tuple(r for r in rest if isinstance(r, Keyword))
        return RawLayer(name, args, keywords, call, self._at(meta))

    def assignment(self, children: list[Any]) -> RawLayer:
        return children[1]

    @v_args(meta=True)
    def layer_call(self, meta: Any, children: list[Any]) -> RawLayer:
        (value,) = children
        if not isinstance(value, RawLayer):  # max(3, 4) on a line of its own
            raise SyntaxProblem(
                f"a number ({value}) stands where a layer is expected", self._at(meta)
            )
        return value

    def body(self, children: list[Any]) -> tuple[Statement, ...]:
        return tuple(children)

    @v_args(meta=True)
    def block(self, meta: Any, children: list[Any]) -> RawBlock:
        name, argument, *bodies = children
        arg = None if argument is None else Arg(_plain(argument), self._at(meta))
        return RawBlock(str(name), arg, tuple(bodies), self._at(meta))

    def start(self, children: list[Any]) -> tuple[Statement, ...]:
        return tuple(children)


def _numbers(*values: Any) -> tuple[Any, ...]:
    """The values, where each must be a number or an expression: a layer written inside
    arithmetic, a tuple or a shape (input 3 x nn.ReLU()) is refused where it stands."""
    for value in values:
        if isinstance(value, RawLayer):
            raise SyntaxProblem(
                f"a layer ({value.name}) stands where a number or a name is expected",
                value.source,
            )
    return values


def _plain(value: Any) -> Any:
    """Numbers as Python ints, everything else as it is."""
    if isinstance(value, sympy.Basic):
        return as_value(value)
    return value


# ---------------------------------------------------------------- errors in words

_WORDS = {
    "NAME": "a name",
    "NUMBER": "a number",
    "CALL": "a call such as nn.Conv2d(",
    "STRING": "a quoted string",
    "SHAPE_LITERAL": "a shape such as 3x32x32",
    "_NL": "the end of the line",
    "$END": "the end of the text",
}


# Tokens that can start a value, and operators: each group is said in one phrase.
_VALUE_START = {"NAME", "NUMBER", "STRING", "CALL", "LPAR", "LSQB", "MINUS", "PLUS"}
_OPERATORS = {"PLUS", "MINUS", "STAR", "SLASH", "__ANON_0", "__ANON_1", "CIRCUMFLEX"}


def _expected_words(expected: set[str]) -> str:
    terminals = {t.name: t for t in _parser().terminals}
    words = set()
    if {"NAME", "NUMBER"} <= expected:
        words.add("a value (a number, a name, a tuple such as (3, 5) or a quoted string)")
        expected = expected - _VALUE_START
    operators = {
        n for n in expected
        if n in _OPERATORS or (n in terminals and str(terminals[n].pattern.value) in
                               ("*", "**", "/", "//", "^", "+", "-"))
    }
    if len(operators) > 2:
        words.add("an operator")
        expected = expected - operators
    for name in expected:
        if name in _WORDS:
            words.add(_WORDS[name])
        elif name in terminals and isinstance(terminals[name].pattern, lark.lexer.PatternStr):
            words.add(f"'{terminals[name].pattern.value}'")
        else:
            words.add(name.lower())
    ordered = sorted(words)
    if len(ordered) > 1:
        return ", ".join(ordered[:-1]) + " or " + ordered[-1]
    return ordered[0] if ordered else "something else"


def _syntax_problem(error: UnexpectedInput, lines: list[str]) -> SyntaxProblem:
    line = max(error.line, 1) if error.line not in (None, -1) else len(lines) or 1
    column = max(error.column, 1) if error.column not in (None, -1) else 1
    if isinstance(error, UnexpectedCharacters):
        text = lines[line - 1] if line <= len(lines) else ""
        found = f"unexpected character {text[column - 1:column] or 'here'!r}"
        expected = error.allowed or set()
    elif isinstance(error, UnexpectedToken):
        token = error.token
        found = (
            "unexpected end of text"
            if token.type == "$END"
            else "unexpected end of line"
            if token.type == "_NL"
            else f"unexpected {str(token)!r}"
        )
        expected = error.accepts or error.expected
    elif isinstance(error, UnexpectedEOF):
        found, expected = "unexpected end of text", set(error.expected)
    else:
        found, expected = "unreadable text", set()
    message = f"{found}; expected {_expected_words(set(expected))}"
    return SyntaxProblem(message, _source(lines, line, column))


def _parse(text: str, start: str) -> Any:
    lines = text.split("\n")  # as lark counts lines: "\x85" or "\u2028" do not end one
    try:
        tree = _parser().parse(text, start=start)
        return _ToStatements(lines).transform(tree)
    except UnexpectedInput as error:
        raise _syntax_problem(error, lines) from None
    except VisitError as error:  # a rule method rejected a value: the error is ours
        if isinstance(error.orig_exc, SymconvError):
            raise error.orig_exc from None
        raise
    except RecursionError:
        raise SyntaxProblem("the description is nested too deeply") from None


def parse_statements(text: str) -> tuple[Statement, ...]:
    """The statements of a description, in order (blocks nested)."""
    return _parse(text + "\n", "start")


def parse_shape(text: str) -> tuple[Value, ...]:
    """A shape such as `3x224x224`, `3xHxW`, `3 x H x W` or `3,224,224`.

    Without spaces around it, every `x` separates axes (so `3xHxW` is three axes); with
    spaces, only a lone `x` does, and names may contain the letter."""
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):  # (3, 224, 224), as PyTorch writes it
        text = text[1:-1]
    text = text.replace(",", " x ").replace("×", " x ")
    if " x " not in f" {text} ":
        text = " x ".join(text.split("x"))
    return _parse(text, "shape")


def parse_expression(text: str) -> Value:
    """An expression over numbers and names, e.g. `224`, `2*K + 1`, as an int or SymPy."""
    (value,) = _numbers(_parse(text, "expr"))
    return as_value(value)
