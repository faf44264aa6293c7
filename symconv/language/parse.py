"""Text -> parse tree -> statements: the layer language read with Lark.

The statements are still raw (names and argument values as written); `build.py` turns them
into layers. Every statement and argument carries its `Source` for error messages.
"""

from __future__ import annotations

import hashlib
import os
import sys
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

from symconv.algebra.symbols import Value, as_value, symbol
from symconv.errors import Source, SymconvError, SyntaxProblem

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
    name: str | None = None  # `input 3 x H x W as x0`: the input's name for joins


@dataclass(frozen=True, slots=True)
class ConventionDecl:
    """`convention tensorflow`: whose padding='same' the description follows (the word as
    written; build checks it)."""

    word: str
    source: Source


@dataclass(frozen=True, slots=True)
class RawBlock:
    """`repeat N { ... }`, `residual { ... } shortcut { ... }`, `concat { ... } { ... }`."""

    name: str
    argument: Arg | None
    bodies: tuple[tuple[Statement, ...], ...]
    source: Source


@dataclass(frozen=True, slots=True)
class RawBinding:
    """`y1 = conv 32 k=3`: a layer (or block) whose output is named."""

    name: str
    statement: RawLayer | RawBlock
    source: Source


RawValue: TypeAlias = "Value | tuple[Value, ...] | str | RawLayer"
@dataclass(frozen=True, slots=True)
class TorchImport:
    """`from torch import nn`, `import torch`: PyTorch's own import above pasted code (as
    to_torch_code writes it), read and left aside; never run."""

    source: Source


Statement: TypeAlias = (
    "InputDecl | ConventionDecl | RawLayer | RawBlock | RawBinding | TorchImport")

# What an import line may name: PyTorch's modules, as to_torch_code imports them.
TORCH_MODULES = ("torch", "torch.nn")


# ---------------------------------------------------------------- the parser


@dataclass(frozen=True, slots=True)
class _Function:
    """A function an expression may call, e.g. a target size --target 'ceiling(W/2)'."""

    apply: Any
    least: int  # arguments it takes: from `least` to `most` (None: any number more)
    most: int | None
    takes: str  # in words, for the error message

    def accepts(self, count: int) -> bool:
        return self.least <= count and (self.most is None or count <= self.most)


_ONE = "one number or expression"
_TWO_OR_MORE = "two or more numbers or expressions"
_FUNCTIONS = {
    "floor": _Function(sympy.floor, 1, 1, _ONE),
    "ceil": _Function(sympy.ceiling, 1, 1, _ONE),
    "ceiling": _Function(sympy.ceiling, 1, 1, _ONE),
    "min": _Function(sympy.Min, 2, None, _TWO_OR_MORE),
    "max": _Function(sympy.Max, 2, None, _TWO_OR_MORE),
}

# Sizes beyond these are typing mistakes; refusing them keeps exact arithmetic quick. Every
# path that reads digits (descriptions, shapes, --set, --input, --target, integer options)
# checks them with `check_digits`, so the limit and its message are the same everywhere.
MAX_DIGITS = 4000
MAX_EXPONENT = 4096
# Descriptions longer than this are not descriptions (a binary file, /dev/zero).
MAX_TEXT = 1 << 20  # characters (the command line reads at most this many bytes)
MAX_TEXT_WORDS = "1 MiB"
# A value or a shape (--set, --input, --target, a Python argument) is a few numbers and
# names; longer text is refused before the parser spends seconds on it.
MAX_VALUE_TEXT = 5 * MAX_DIGITS
# Nesting deeper than this (brackets, calls, blocks, chains of operators) is refused where it
# is read, before any recursion in SymPy or in the transformer could overflow the stack.
MAX_DEPTH = 100
# A size is a polynomial of low degree in its names (C*D*H*W, a volume, is 4); SymPy's floor
# and sign reasoning slows down steeply with the degree, (W + 1)^32 taking minutes.
MAX_DEGREE = 4
# Every symbolic term a description writes is carried through every layer after it (sizes,
# counts, fields), and SymPy's sums cost more with each term: so at most MAX_SYMBOLS names,
# and at most MAX_TERM_LAYERS layers as written times distinct terms (a symbol, or a product
# or a rounding of symbols such as 2*P*S or K//2), a few seconds of work at most.
MAX_SYMBOLS = 200
MAX_TERM_LAYERS = 5000


def too_large(number: str) -> str:
    """The one message for a number beyond MAX_DIGITS, naming its first digits."""
    shown = number if len(number) <= 24 else number[:20] + "…"
    return f"the number {shown} is too large (symconv takes at most {MAX_DIGITS} digits)"


def check_digits(number: str) -> None:
    """Refuse a written number (digits, maybe a point and an exponent) beyond MAX_DIGITS."""
    _, e, power = number.lower().partition("e")
    digits = power.lstrip("+-")
    if len(number) > MAX_DIGITS or (e and digits.isdigit() and int(digits) > MAX_DIGITS):
        raise ValueError(too_large(number))


def _digits(value: int) -> int:
    """How many decimal digits |value| has; beyond MAX_DIGITS + 1, an estimate (never fewer),
    as printing a huge number takes long (and Python refuses beyond 4300 digits)."""
    estimate = int(abs(value).bit_length() * 0.30103) + 1
    return len(str(abs(value))) if estimate <= MAX_DIGITS + 1 else estimate


TOO_BIG = 10**MAX_DIGITS  # the least number with more than MAX_DIGITS digits


def too_big(value: Any) -> bool:
    """Whether a value has a number in it with more than MAX_DIGITS digits (a walk over the
    expression's tree: the trace asks this of every record)."""
    if isinstance(value, int):
        return abs(value) >= TOO_BIG
    stack = [value] if isinstance(value, sympy.Basic) else []
    while stack:
        node = stack.pop()
        if node.is_Rational:
            if abs(node.p) >= TOO_BIG or node.q >= TOO_BIG:
                return True
        else:
            stack.extend(node.args)
    return False


def degree(value: Any) -> int:
    """The degree of a value in its names: 0 for a number, 1 for W + 1, 2 for H*W, 3 for
    (W + 1)^3; a floor, min or max has its arguments' and a power 2^N its exponent's."""
    if not isinstance(value, sympy.Basic) or not value.free_symbols:
        return 0
    if value.is_Symbol:
        return 1
    if value.is_Mul:
        return sum(degree(a) for a in value.args)
    if value.is_Pow:
        base, exponent = value.args
        if exponent.is_Integer:
            return degree(base) * abs(int(exponent))
        return degree(base) + degree(exponent)
    return max(degree(a) for a in value.args)


def high_degree(value: Any) -> str | None:
    """Why a value's degree in its names is beyond MAX_DEGREE, or None where it is not."""
    found = degree(value)
    if found <= MAX_DEGREE:
        return None
    return (f"{_short(sympy.sstr(value))} has degree {found} in its names (symconv takes "
            f"sizes of degree at most {MAX_DEGREE})")


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
        # Lark keeps the analysed grammar in a file (checked against the grammar's text and
        # options before use): later runs load it instead of analysing the grammar again.
        cache=_grammar_cache(text),
    )


def _grammar_cache(text: str) -> str | bool:
    """Where Lark keeps the analysed grammar: a file in the user's own cache folder
    ($XDG_CACHE_HOME/symconv, else ~/.cache/symconv, made private), never a shared temporary
    folder, where another user could leave a file for Lark to unpickle. False (no cache, the
    grammar analysed every run) when that folder cannot be made; a file that cannot be
    written or read back is Lark's to skip, silently."""
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(home, "symconv")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return False
    if not os.path.isabs(folder) or not os.access(folder, os.W_OK) or not _own(folder):
        return False
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    version = f"{sys.version_info[0]}{sys.version_info[1]}"
    return os.path.join(folder, f"grammar-{digest}-lark{lark.__version__}-py{version}.pickle")


def _own(folder: str) -> bool:
    """Whether the folder belongs to this user (always so where there are no user ids)."""
    getuid = getattr(os, "getuid", None)
    return getuid is None or os.stat(folder).st_uid == getuid()


def _source(lines: list[str], line: int, column: int) -> Source:
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    return Source(line, column, text.rstrip("\r"))


class _ToStatements(Transformer[Token, Any]):
    """One short method per grammar rule; expressions become SymPy, layers raw records."""

    def __init__(self, lines: list[str]):
        super().__init__()
        self._lines = lines
        self._names: set[str] = set()

    def _at(self, meta: Any) -> Source:
        return _source(self._lines, meta.line, meta.column)

    def _token_at(self, token: Token) -> Source:
        return _source(self._lines, token.line or 1, token.column or 1)

    def _checked(self, meta: Any, value: Any) -> Any:
        """The value of an operation, refused where a number in it outgrows MAX_DIGITS."""
        if too_big(value):
            raise SyntaxProblem(f"the result is too large (symconv takes at most {MAX_DIGITS} "
                                "digits)", self._at(meta))
        return value

    def _product(self, meta: Any, value: Any) -> Any:
        """The value of an operation that raises the degree (a product, a quotient, a
        power), refused where a number outgrows MAX_DIGITS or the degree MAX_DEGREE."""
        if (why := high_degree(value)) is not None:
            raise SyntaxProblem(why, self._at(meta))
        return self._checked(meta, value)

    # expressions
    def number(self, children: list[Token]) -> sympy.Expr:
        text = str(children[0])
        try:
            check_digits(text)
        except ValueError as error:
            raise SyntaxProblem(str(error), self._token_at(children[0])) from None
        if text.isdigit():
            return sympy.Integer(int(text))
        return sympy.Rational(text)

    def name(self, children: list[Token]) -> sympy.Expr:
        name = str(children[0])
        self._names.add(name)
        if len(self._names) > MAX_SYMBOLS:
            raise SyntaxProblem(
                f"more than {MAX_SYMBOLS} different names: symconv takes at most "
                f"{MAX_SYMBOLS} symbols in a description (the formulas carry each through "
                "every layer)", self._token_at(children[0]))
        return symbol(name)

    @v_args(meta=True)
    def add(self, meta: Any, children: list[Any]) -> Any:
        a, b = _numbers(*children)
        return self._checked(meta, a + b)

    @v_args(meta=True)
    def sub(self, meta: Any, children: list[Any]) -> Any:
        a, b = _numbers(*children)
        return self._checked(meta, a - b)

    @v_args(meta=True)
    def mul(self, meta: Any, children: list[Any]) -> Any:
        a, b = _numbers(*children)
        return self._product(meta, a * b)

    @v_args(meta=True)
    def div(self, meta: Any, children: list[Any]) -> Any:
        a, b = _numbers(*children)
        if b == 0:
            raise SyntaxProblem("division by zero", self._at(meta))
        return self._product(meta, sympy.sympify(a, strict=True) / b)

    @v_args(meta=True)
    def floordiv(self, meta: Any, children: list[Any]) -> Any:
        a, b = _numbers(*children)
        if b == 0:
            raise SyntaxProblem("division by zero", self._at(meta))
        return self._product(meta, a // b)

    @v_args(inline=True)
    def neg(self, a: Any) -> Any:
        _numbers(a)
        return -a

    @v_args(meta=True)
    def pow(self, meta: Any, children: list[Any]) -> Any:
        a, b = _numbers(*children)
        if not (b.is_Symbol or (b.is_Integer and b >= 0)):
            raise SyntaxProblem(
                f"an exponent must be a name or a whole number from 0 to {MAX_EXPONENT}",
                self._at(meta),
            )
        if b.is_Integer and b > MAX_EXPONENT:
            raise SyntaxProblem(f"the exponent {_short(b)} is too large (symconv takes "
                                f"exponents up to {MAX_EXPONENT})", self._at(meta))
        if a.is_Rational and b.is_Integer and (
                max(_digits(a.p), _digits(a.q)) - 1) * int(b) > MAX_DIGITS:
            raise SyntaxProblem(f"the power {_short(a)}^{b} is too large (symconv takes at "
                                f"most {MAX_DIGITS} digits)", self._at(meta))
        return self._product(meta, a**b)

    # values
    def items(self, children: list[Any]) -> tuple[Value, ...]:
        return tuple(as_value(c) for c in _numbers(*(c for c in children if c is not None)))

    def string(self, children: list[Token]) -> str:
        return str(children[0])[1:-1]

    def shape_literal(self, children: list[Token]) -> tuple[Value, ...]:
        text = str(children[0]).replace("×", "x")
        try:
            for part in text.split("x"):
                check_digits(part)
        except ValueError as error:
            raise SyntaxProblem(str(error), self._token_at(children[0])) from None
        return tuple(int(part) for part in text.split("x"))

    def shape(self, children: list[Any]) -> tuple[Value, ...]:
        return tuple(as_value(c) for c in _numbers(*children))

    # statements
    @v_args(meta=True)
    def input_decl(self, meta: Any, children: list[Any]) -> InputDecl:
        shape, name = children
        return InputDecl(shape, self._at(meta), None if name is None else str(name))

    @v_args(meta=True)
    def convention_decl(self, meta: Any, children: list[Any]) -> ConventionDecl:
        return ConventionDecl(str(children[0]), self._at(meta))

    @v_args(meta=True)
    def torch_import(self, meta: Any, children: list[Any]) -> TorchImport:
        # import torch.nn [as nn]: [module, alias]; from torch import nn [as nn]: [module,
        # name, alias]
        imported = ".".join(str(c) for c in children[:len(children) - 1])
        if imported not in TORCH_MODULES:
            raise SyntaxProblem(
                f"only PyTorch's own imports are read ({' and '.join(TORCH_MODULES)}, as "
                f"to_torch_code writes them), not '{imported}'", self._at(meta))
        return TorchImport(self._at(meta))

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
        given = f"{len(raw.args)} given" if raw.args else "none given"
        if raw.keywords:
            given = f"a keyword given ({raw.keywords[0].name}=)"
        if raw.keywords or not function.accepts(len(raw.args)):
            raise SyntaxProblem(f"{raw.name}() takes {function.takes}; {given}", raw.source)
        for arg in raw.args:
            if not isinstance(arg.value, int | sympy.Expr):
                raise SyntaxProblem(f"{raw.name}() takes {function.takes}, not "
                                    f"{_kind(arg.value)}", arg.source)
        return self._checked(meta, function.apply(*(a.value for a in raw.args)))

    def _raw(self, name: str, rest: list[Any], call: bool, meta: Any) -> RawLayer:
        args = tuple(r for r in rest if isinstance(r, Arg))
        keywords = tuple(r for r in rest if isinstance(r, Keyword))
        return RawLayer(name, args, keywords, call, self._at(meta))

    def assignment(self, children: list[Any]) -> RawLayer:
        return children[1]

    @v_args(meta=True)
    def binding(self, meta: Any, children: list[Any]) -> RawBinding:
        name, statement = children
        return RawBinding(str(name), statement, self._at(meta))

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
        return RawBlock(str(name), argument, tuple(bodies), self._at(meta))

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


def _kind(value: RawValue) -> str:
    """What a value that is not a number is, in words."""
    if isinstance(value, str):
        return f"a quoted string ('{value}')"
    if isinstance(value, tuple):
        return "a tuple"
    if isinstance(value, RawLayer):
        return f"a layer ({value.name})"
    return "a number"


def _short(value: object) -> str:
    """A number as text, its middle left out where it is long."""
    text = str(value)
    return text if len(text) <= 24 else text[:20] + "…"


def _plain(value: Any) -> Any:
    """Numbers as Python ints, everything else as it is."""
    if isinstance(value, sympy.Basic):
        return as_value(value)
    return value


# ---------------------------------------------------------------- errors in words

_WORDS = {
    "NAME": "a name",
    "DOTTED": "a module such as torch.nn",
    "_IMPORT": "import",
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


def _check_depth(tree: lark.Tree[Token], lines: list[str]) -> None:
    """Refuse a tree nested deeper than MAX_DEPTH, where its nesting first goes too deep
    (walked without recursion, so any depth can be measured)."""
    stack: list[tuple[Any, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, lark.Tree):
            continue
        if depth > MAX_DEPTH:
            meta = node.meta
            line = getattr(meta, "line", 1) if not meta.empty else 1
            column = getattr(meta, "column", 1) if not meta.empty else 1
            raise SyntaxProblem(
                f"nested too deeply: more than {MAX_DEPTH} levels of brackets, calls, blocks "
                "or operators in a row", _source(lines, line, column))
        stack.extend((child, depth + 1) for child in node.children)


def _normalise(text: str) -> str:
    """The text as the grammar reads it: without a byte-order mark, every line ending
    (CRLF, or CR alone as old Mac files have it) a newline."""
    if len(text) > MAX_TEXT:
        raise SyntaxProblem(f"the text is longer than {MAX_TEXT_WORDS}; a description is "
                            "much shorter")
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _parse(text: str, start: str) -> Any:
    text = _normalise(text)
    lines = text.split("\n")  # as lark counts lines: "\x85" or "\u2028" do not end one
    try:
        tree = _parser().parse(text, start=start)
        _check_depth(tree, lines)
        return _ToStatements(lines).transform(tree)
    except UnexpectedInput as error:
        raise _syntax_problem(error, lines) from None
    except VisitError as error:  # a rule method rejected a value: the error is ours
        if isinstance(error.orig_exc, SymconvError):
            raise error.orig_exc from None
        # Anything else is a value the rule could not handle: still the text's fault, and
        # said where it stands rather than as lark's exception.
        meta = getattr(error.obj, "meta", None)
        line = getattr(meta, "line", 1) if meta is not None and not meta.empty else 1
        column = getattr(meta, "column", 1) if meta is not None and not meta.empty else 1
        raise SyntaxProblem(f"cannot read this {error.rule or 'value'}: {error.orig_exc}",
                            _source(lines, line, column)) from None
    except lark.exceptions.LarkError as error:  # lark's own, never shown as they are
        raise SyntaxProblem(f"cannot read the text: {error}") from None


def parse_statements(text: str) -> tuple[Statement, ...]:
    """The statements of a description, in order (blocks nested)."""
    statements: tuple[Statement, ...] = _parse(text + "\n", "start")
    _check_terms(statements)
    return statements


def _check_terms(statements: tuple[Statement, ...]) -> None:
    """Refuse a description whose layers as written times distinct symbolic terms pass
    MAX_TERM_LAYERS, at the argument that passes it (a repeat's unrolled passes are the
    trace's to limit)."""
    terms: set[sympy.Basic] = set()
    layers = 0
    stack: list[Any] = list(reversed(statements))
    while stack:
        item = stack.pop()
        values: list[tuple[Any, Source]] = []
        match item:
            case InputDecl(shape=shape, source=source):
                values = [(v, source) for v in shape]
            case RawLayer(name=name, call=False) if name in _JOIN_WORDS:
                layers += 1  # its arguments name tensors: no symbols are carried on
            case RawLayer():
                layers += 1
                values = [(a.value, a.source) for a in item.args]
                values += [(k.value, k.source) for k in item.keywords]
            case RawBinding(statement=inner):
                stack.append(inner)
            case RawBlock(argument=argument, bodies=bodies):
                layers += 1
                values = [] if argument is None else [(argument.value, argument.source)]
                stack += [s for body in reversed(bodies) for s in reversed(body)]
        for value, source in values:
            for v in value if isinstance(value, tuple) else (value,):
                if isinstance(v, sympy.Basic):
                    terms |= {t.as_coeff_Mul()[1] for t in sympy.Add.make_args(v)
                              if t.free_symbols}
                if len(terms) * layers > MAX_TERM_LAYERS:
                    raise SyntaxProblem(
                        f"too many symbolic terms for this many layers: {len(terms)} "
                        f"different terms (a symbol, or a product or rounding of symbols) "
                        f"over {layers} layers so far, and symconv takes at most "
                        f"{MAX_TERM_LAYERS} terms times layers (the formulas carry each term "
                        "through every layer); write fewer symbols", source)


# The joins of named tensors (language/layers.JoinOp), whose arguments are tensors' names.
_JOIN_WORDS = frozenset({"concat", "add", "mul", "use"})


def parse_shape(text: str) -> tuple[Value, ...]:
    """A shape such as `3x224x224`, `3xHxW`, `3 x H x W` or `3,224,224`.

    Without spaces around it, every `x` separates axes (so `3xHxW` is three axes); with
    spaces, only a lone `x` does, and names may contain the letter."""
    _check_value_length(text, "shape")
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):  # (3, 224, 224), as PyTorch writes it
        text = text[1:-1]
    text = text.replace(",", " x ").replace("×", " x ")
    if " x " not in f" {text} ":
        text = " x ".join(text.split("x"))
    return _parse(text, "shape")


def parse_expression(text: str) -> Value:
    """An expression over numbers and names, e.g. `224`, `2*K + 1`, as an int or SymPy."""
    _check_value_length(text, "value")
    (value,) = _numbers(_parse(text, "expr"))
    return as_value(value)


def _check_value_length(text: str, what: str) -> None:
    if len(text) > MAX_VALUE_TEXT:
        raise SyntaxProblem(f"the text is {len(text)} characters long; a {what} is much shorter "
                            f"(symconv reads at most {MAX_VALUE_TEXT})")
