"""Fast exact numeric evaluation: a network compiled once into straight-line integer Python.

Each top-level layer is traced once with a symbolic input shape, through the same trace and
formulas as everything else; its output sizes and counts, and the rules its symbols leave
undecided, are printed as Python with exact integer arithmetic (`//` for floor, `Fraction`
for a rare rational). A call then costs a few microseconds a layer. When a rule fails, the
ordinary trace is run on the same values, so the user gets exactly the message it gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy
from sympy.printing.pycode import PythonCodePrinter

from symconv.errors import InvalidValueError, SymconvError
from symconv.layers import kind_of
from symconv.network import Network, _substitute
from symconv.symbols import Value, symbol, value_of
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
            self.network.records(**values)  # a value no layer accepts: the precise error
            raise InvalidValueError(
                "numeric evaluation takes a whole number for every symbol, got "
                + ", ".join(f"{n} = {a}" for n, a in zip(self.symbols, args, strict=True)
                            if not isinstance(a, int)))
        try:
            rows = self._function(*args)
        except (_Rejected, ZeroDivisionError):
            self.network.records(**values)  # raises the precise error
            raise AssertionError("compiled rules and the trace disagree") from None
        return tuple(
            NumericRecord(i, kind, *row)
            for i, (kind, row) in enumerate(zip(self.kinds, rows, strict=True), start=1)
        )

    def output_shape(self, **values: object) -> tuple[int, ...]:
        return self(**values)[-1].output_shape

    def params(self, **values: object) -> int:
        return sum(r.params for r in self(**values))


def compile_network(network: Network) -> Evaluator:
    """The network as straight-line integer code (see the module's docstring); a network the
    printer cannot express (a symbolic repeat count, say) evaluates through the trace."""
    try:
        return _generate(network)
    except (SymconvError, TypeError):
        return _through_trace(network)


def _generate(network: Network) -> Evaluator:
    printer = _ExactPrinter({"fully_qualified_modules": False})
    names = network.symbols
    # The user's symbols become plain integers here, so that no rule is settled by the
    # assumption that they are positive (a caller may pass 0): every such rule is checked
    # at run time. Intermediate sizes may stay positive: the input and every layer's output
    # are checked >= 1 before the next layer uses them.
    safe = {symbol(n): sympy.Symbol(f"_u{i}", integer=True) for i, n in enumerate(names)}
    lines = [f"def _evaluate({', '.join(f'_u{i}' for i in range(len(names)))}):"]
    shape: tuple[Value, ...] = tuple(_rename(v, safe) for v in network.input_shape)
    checks: list[Any] = []
    token = PENDING_RULES.set(checks)
    try:
        check_input(shape)
    finally:
        PENDING_RULES.reset(token)
    lines += [f"    if not ({printer._print(c)}): raise _Rejected" for c in checks]
    for axis, size in enumerate(shape):
        lines.append(f"    _x0_{axis} = {_exact(printer, size)}")
    rows, kinds = [], []
    for index, layer in enumerate(network.layers, start=1):
        inputs = tuple(sympy.Symbol(f"_x{index - 1}_{a}", integer=True, positive=True)
                       for a in range(len(shape)))
        pending: list[Any] = []
        token = PENDING_RULES.set(pending)
        try:
            (record,) = trace(inputs, (_substitute(layer, safe),))
        finally:
            PENDING_RULES.reset(token)
        lines += [f"    if not ({printer._print(c)}): raise _Rejected" for c in pending]
        outputs = []
        for axis, size in enumerate(record.output_shape):
            lines.append(f"    _x{index}_{axis} = {_exact(printer, size)}")
            outputs.append(f"_x{index}_{axis}")
        counts = [_exact(printer, getattr(record, q))
                  for q in ("params", "neurons", "connections", "macs")]
        rows.append(f"(({', '.join(outputs)},), {', '.join(counts)})")
        kinds.append(record.kind)
        shape = record.output_shape
    lines.append(f"    return ({', '.join(rows)},)")
    source = "\n".join(lines) + "\n"
    scope: dict[str, Any] = {"Fraction": Fraction, "_Rejected": _Rejected}
    exec(compile(source, "<symconv evaluator>", "exec"), scope)  # our own generated code
    return Evaluator(network, names, tuple(kinds), source, scope["_evaluate"])


def _through_trace(network: Network) -> Evaluator:
    names = network.symbols

    def evaluate(*args: int) -> list[tuple[Any, ...]]:
        records = network.records(**dict(zip(names, args, strict=True)))
        return [(tuple(int(v) for v in r.output_shape),
                 *(int(getattr(r, q)) for q in ("params", "neurons", "connections", "macs")))
                for r in records]

    kinds = tuple(kind_of(layer) for layer in network.layers)
    return Evaluator(network, names, kinds, "", evaluate)


def _rename(value: Value, names: Mapping[sympy.Symbol, sympy.Symbol]) -> Value:
    return value if isinstance(value, int) else value.xreplace(names)
