"""Fast exact numeric evaluation: a network compiled once into straight-line integer Python.

Each top-level layer is traced once with a symbolic input shape, through the same trace and
formulas as everything else; its output sizes and counts, and the rules its symbols leave
undecided, are printed as Python with exact integer arithmetic (`//` for floor, `Fraction`
for a rare rational). A call then costs a few microseconds a layer. When a rule fails, the
ordinary trace is run on the same values, so the user gets exactly the message it gives.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy
from sympy.printing.pycode import PythonCodePrinter

from symconv.blocks import MAX_UNROLLED, unrolled_layers
from symconv.errors import InvalidValueError, SymconvError
from symconv.layers import Concat, Layer, Repeat, Residual, Scale, kind_of
from symconv.network import Network, _substitute
from symconv.parse import TOO_BIG
from symconv.symbols import Value, substitution, symbol, value_of
from symconv.trace import PENDING_RULES, check_input, trace


@dataclass(frozen=True, slots=True)
class NumericRecord:
    """One layer's numbers: Python ints throughout."""

    index: int
    kind: str
    output_shape: tuple[int, ...]
    params: int
    neurons: int
    connections: int
    macs: int


Row = tuple[tuple[int, ...], int, int, int, int]  # output shape and the four counts


class _Rejected(Exception):
    """A rule failed in compiled code; the ordinary trace says which and why."""


class _ExactPrinter(PythonCodePrinter):
    """Python code that stays exact on integers of any size."""

    def _ratio(self, expr: sympy.Expr) -> tuple[str, str | None]:
        numerator, denominator = sympy.fraction(sympy.together(expr))
        if denominator == 1:
            return self._print(numerator), None
        return self._print(numerator), self._print(denominator)

    def _print_floor(self, expr: sympy.Expr) -> str:
        num, den = self._ratio(expr.args[0])
        return f"({num})" if den is None else f"(({num}) // ({den}))"

    def _print_ceiling(self, expr: sympy.Expr) -> str:
        num, den = self._ratio(expr.args[0])
        return f"({num})" if den is None else f"(-((-({num})) // ({den})))"

    def _print_Rational(self, expr: sympy.Rational) -> str:
        return f"Fraction({expr.p}, {expr.q})"

    def _print_Half(self, expr: sympy.Rational) -> str:
        return "Fraction(1, 2)"

    def _print_Pow(self, expr: sympy.Pow, rational: bool = False) -> str:
        base, exponent = expr.args
        if exponent.is_Integer and exponent < 0:
            return f"Fraction(1, ({self._print(base)}) ** {-int(exponent)})"
        return str(super()._print_Pow(expr, rational=rational))

    def _print_Mod(self, expr: sympy.Expr) -> str:
        a, b = expr.args
        return f"(({self._print(a)}) % ({self._print(b)}))"

    def _print_Sum(self, expr: sympy.Expr) -> str:
        raise TypeError("a sum is evaluated by the trace")  # never a loop in generated code

    def _print_gcd(self, expr: sympy.Expr) -> str:
        a, b = expr.args
        return f"_gcd({self._print(a)}, {self._print(b)})"

    def emptyPrinter(self, expr: object) -> str:
        raise TypeError(f"cannot compile {type(expr).__name__}")


def _exact(printer: _ExactPrinter, value: Value) -> str:
    """A whole-number value as code; a top-level fraction divides exactly (rules ensure it)."""
    if isinstance(value, int):
        return str(value)
    num, den = printer._ratio(sympy.sympify(value, strict=True))
    return num if den is None else f"(({num}) // ({den}))"


@dataclass(frozen=True)
class Evaluator:
    """A network compiled for numbers: `evaluator(W=224)` -> one NumericRecord per layer."""

    network: Network
    symbols: tuple[str, ...]
    kinds: tuple[str, ...]
    source: str  # the generated Python ("" where the network could not be compiled)
    _function: Any

    def __call__(self, **values: object) -> tuple[NumericRecord, ...]:
        missing = [name for name in self.symbols if name not in values]
        unknown = [name for name in values if name not in self.symbols]
        if missing or unknown:
            self.network.bind(values)  # names an unknown symbol, with a suggestion
            raise SymconvError(
                "numeric evaluation needs a number for every symbol; missing: "
                + ", ".join(missing)
            )
        args = [value_of(name, values[name]) for name in self.symbols]
        if not all(isinstance(a, int) for a in args):
            self.network.traced_records(**values)  # a value no layer accepts: its error
            raise InvalidValueError(
                "numeric evaluation takes a whole number for every symbol, got "
                + ", ".join(f"{n} = {a}" for n, a in zip(self.symbols, args, strict=True)
                            if not isinstance(a, int)))
        rows = self.rows(args)
        if rows is None:
            self.network.traced_records(**values)  # raises the precise error
            raise AssertionError("compiled rules and the trace disagree")
        return tuple(
            NumericRecord(i, kind, *row)
            for i, (kind, row) in enumerate(zip(self.kinds, rows, strict=True), start=1)
        )

    def rows(self, args: Sequence[int]) -> tuple[Row, ...] | None:
        """(output shape, params, neurons, connections, macs) per layer for the symbols'
        values in `self.symbols` order; None where the trace must answer (a rule fails, or
        a number has more than MAX_DIGITS digits), so that its message is the one given."""
        try:
            rows: tuple[Row, ...] = self._function(*args)
        except (_Rejected, ZeroDivisionError):
            return None
        # Every size and count is at least 0, so their sum bounds each (one pass, no max).
        if sum(sum(shape) + a + b + c + d for shape, a, b, c, d in rows) >= TOO_BIG:
            return None
        return rows

    def output_shape(self, **values: object) -> tuple[int, ...]:
        return self(**values)[-1].output_shape

    def params(self, **values: object) -> int:
        return sum(r.params for r in self(**values))


def compile_network(network: Network) -> Evaluator:
    """The network as straight-line integer code (see the module's docstring)."""
    return _Compiler(network).evaluator()


_COUNTS = ("params", "neurons", "connections", "macs")


class _Compiler:
    """Writes the evaluator's source: one block of lines per layer, a loop per repeat."""

    def __init__(self, network: Network):
        self.network = network
        self.printer = _ExactPrinter({"fully_qualified_modules": False})
        # The user's symbols become plain integers here, so that no rule is settled by the
        # assumption that they are positive (a caller may pass 0): every such rule is
        # checked at run time. Intermediate sizes may stay positive: the input and every
        # layer's output are checked >= 1 before the next layer uses them.
        self.safe = {symbol(n): sympy.Symbol(f"_u{i}", integer=True)
                     for i, n in enumerate(network.symbols)}
        self.lines: list[str] = []
        self.traced: list[Layer] = []  # blocks evaluated by the trace at run time
        self.names = 0

    def evaluator(self) -> Evaluator:
        names = self.network.symbols
        self.lines = [f"def _evaluate({', '.join(f'_u{i}' for i in range(len(names)))}):"]
        sizes = tuple(_rename(size, self.safe) for size in self.network.input_shape)
        checks: list[Any] = []
        token = PENDING_RULES.set(checks)
        try:
            check_input(sizes)  # the input's rules (whole, at least 1), checked at run time
        finally:
            PENDING_RULES.reset(token)
        for condition in checks:
            self._check(self.printer._print(condition), 1)
        shape = [self._assign(_exact(self.printer, size), 1) for size in sizes]
        rows, kinds = [], []
        for layer in self.network.layers:
            shape, counts = self._layer(layer, shape, 1)
            rows.append(f"(({', '.join(shape)},), {', '.join(counts)})")
            kinds.append(kind_of(layer))
        self.lines.append(f"    return ({', '.join(rows)},)")
        source = "\n".join(self.lines) + "\n"
        scope: dict[str, Any] = {"Fraction": Fraction, "_Rejected": _Rejected, "_gcd": math.gcd,
                                 "_traced": self._run_trace}
        exec(compile(source, "<symconv evaluator>", "exec"), scope)  # our own generated code
        return Evaluator(self.network, names, tuple(kinds), source, scope["_evaluate"])

    # ---------------------------------------------------------- lines

    def _name(self, stem: str) -> str:
        self.names += 1
        return f"_{stem}{self.names}"

    def _assign(self, code: str, depth: int, stem: str = "x") -> str:
        name = self._name(stem)
        self.lines.append(f"{'    ' * depth}{name} = {code}")
        return name

    def _check(self, condition: str, depth: int) -> None:
        self.lines.append(f"{'    ' * depth}if not ({condition}): raise _Rejected")

    # ---------------------------------------------------------- layers

    def _layer(self, layer: Layer, shape: list[str], depth: int
               ) -> tuple[list[str], list[str]]:
        """Lines computing one layer's output sizes and counts from the variables `shape`;
        the names of the variables holding them."""
        if isinstance(layer, Repeat):
            return self._repeat(layer, shape, depth)
        if _holds_repeat(layer):  # a block with a repeat inside: the trace, on numbers
            return self._through_trace(layer, shape, depth)
        inputs = tuple(sympy.Symbol(name, integer=True, positive=True) for name in shape)
        pending: list[Any] = []
        token = PENDING_RULES.set(pending)
        try:
            (record,) = trace(inputs, (_substitute(layer, self.safe),))
            checks = [self.printer._print(condition) for condition in pending]
            sizes = [_exact(self.printer, size) for size in record.output_shape]
            counts = [_exact(self.printer, getattr(record, q)) for q in _COUNTS]
        except (SymconvError, TypeError):
            # A rule that fails for every input, or a value the printer cannot write: the
            # trace decides at run time, and names the rule.
            return self._through_trace(layer, shape, depth)
        finally:
            PENDING_RULES.reset(token)
        for check in checks:
            self._check(check, depth)
        return ([self._assign(size, depth) for size in sizes],
                [self._assign(count, depth, "c") for count in counts])

    def _repeat(self, block: Repeat, shape: list[str], depth: int
                ) -> tuple[list[str], list[str]]:
        """A loop over the body, its counts summed; the trace's unroll limit checked first."""
        count = self._assign(_exact(self.printer, _rename(block.count, self.safe)), depth, "n")
        body = sympy.sympify(unrolled_layers(block.body), strict=True)
        layers = _exact(self.printer, _rename(body, self.safe))
        self._check(f"1 <= {count} <= {MAX_UNROLLED} and {count} * ({layers}) <= {MAX_UNROLLED}",
                    depth)
        state = [self._assign(name, depth) for name in shape]
        totals = [self._assign("0", depth, "c") for _ in _COUNTS]
        self.lines.append(f"{'    ' * depth}for _ in range({count}):")
        at = state
        for layer in block.body:
            at, counts = self._layer(layer, at, depth + 1)
            self.lines += [f"{'    ' * (depth + 1)}{t} += {c}" for t, c in zip(totals, counts,
                                                                               strict=True)]
        self.lines += [f"{'    ' * (depth + 1)}{s} = {a}" for s, a in zip(state, at, strict=True)]
        return state, totals

    def _through_trace(self, layer: Layer, shape: list[str], depth: int
                       ) -> tuple[list[str], list[str]]:
        self.traced.append(layer)
        args = ", ".join(f"_u{i}" for i in range(len(self.safe)))
        row = self._assign(f"_traced({len(self.traced) - 1}, ({', '.join(shape)},), ({args},))",
                           depth, "t")
        out = [self._assign(f"{row}[0][{a}]", depth) for a in range(len(shape))]
        return out, [self._assign(f"{row}[{i}]", depth, "c") for i in range(1, 5)]

    def _run_trace(self, which: int, shape: tuple[int, ...], args: tuple[int, ...]
                   ) -> tuple[Any, ...]:
        """One block's numbers by the trace itself, with the call's values in place."""
        values = dict(zip(self.network.symbols, args, strict=True))
        layer = _substitute(self.traced[which], substitution(values))
        try:
            (record,) = trace(shape, (layer,))
        except SymconvError:
            raise _Rejected from None  # the whole trace then says where and why
        return (tuple(int(v) for v in record.output_shape),
                *(int(getattr(record, q)) for q in _COUNTS))


def _holds_repeat(layer: Layer) -> bool:
    match layer:
        case Repeat():
            return True
        case Residual(body=body, shortcut=shortcut):
            return any(map(_holds_repeat, (*body, *shortcut)))
        case Scale(body=body):
            return any(map(_holds_repeat, body))
        case Concat(branches=branches):
            return any(_holds_repeat(x) for branch in branches for x in branch)
        case _:
            return False


def _rename(value: Value, names: Mapping[sympy.Symbol, sympy.Symbol]) -> Value:
    return value if isinstance(value, int) else value.xreplace(names)
