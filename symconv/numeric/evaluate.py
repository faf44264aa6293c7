"""Fast exact numeric evaluation: a network compiled once into straight-line integer Python.

Each top-level layer is traced once with a symbolic input shape, through the same trace and
formulas as everything else; its output sizes and counts, and the rules its symbols leave
undecided, are printed as Python with exact integer arithmetic (`//` for floor, `Fraction`
for a rare rational). A call then costs a few microseconds a layer. When a rule fails, the
ordinary trace is run on the same values, so the user gets exactly the message it gives.

A second program, the same lines with more, gives a table's rows: besides, the receptive
fields after each top-level layer, traced once with the fields before it as variables and
printed the same way (exact Fractions for a start or jump that is one); constants where
they do not depend on the input, as with numbers for every kernel and stride. Where a
field is not one formula for every value (adaptive pooling) or is a block's (whose record
holds its children), the trace's own recursion gives it at run time, on the call's numbers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, NamedTuple

import sympy
from sympy.printing.pycode import PythonCodePrinter

from symconv.algebra.symbols import Value, symbol
from symconv.engine.blocks import MAX_UNROLLED, unrolled_layers
from symconv.engine.formulas import scaled_size
from symconv.engine.joins import join_counts, join_record, join_shape
from symconv.engine.receptive import INPUT, Field, layer_fields
from symconv.engine.records import PENDING_RULES, SCALED_SIZES, Chain, Record
from symconv.engine.substitute import collect_names, substitute
from symconv.engine.trace import chain, check_input, trace
from symconv.errors import InvalidValueError, SymconvError
from symconv.language.layers import (
    Activation,
    BatchNorm,
    Bind,
    Block,
    ChannelShuffle,
    Chunk,
    Concat,
    Conv,
    ConvTranspose,
    Dropout,
    Flatten,
    GlobalPool,
    GroupNorm,
    InstanceNorm,
    Join,
    Layer,
    LayerNorm,
    Linear,
    Pad,
    PixelShuffle,
    Pool,
    Repeat,
    Residual,
    Scale,
    Upsample,
    kind_of,
    unbound,
)
from symconv.language.parse import TOO_BIG, too_big
from symconv.language.values import substitution, value_of

if TYPE_CHECKING:
    from symconv.network import Network
    from symconv.numeric.batch import Batch


class NumericRecord(NamedTuple):
    """One layer's numbers: Python ints throughout (a named tuple: cheap to build, 50 of
    them a call)."""

    index: int  # type: ignore[assignment]  # (shadows tuple.index, as the name users know)
    kind: str
    output_shape: tuple[int, ...]
    params: int
    neurons: int
    connections: int
    macs: int


Row = tuple[tuple[int, ...], int, int, int, int]  # output shape and the four counts
# A table's rows: the input shape; per top-level layer a Row, its receptive fields and the
# record of a block (None for any other layer)
TableRow = tuple[tuple[int, ...], int, int, int, int, tuple[Field, ...], Record | None]
TableRows = tuple[tuple[int, ...], tuple[TableRow, ...]]


class _Rejected(Exception):
    """A rule failed in compiled code; the ordinary trace says which and why."""


class _ExactPrinter(PythonCodePrinter):
    """Python code that stays exact on integers of any size."""

    def _ratio(self, expr: sympy.Expr) -> tuple[str, str | None]:
        numerator, denominator = sympy.fraction(sympy.together(expr))
        if denominator == 1:
            return self._print(numerator), None
        return self._print(numerator), self._print(denominator)

    def divide(self, num: str, den: str) -> str:
        """floor(num / den) as code."""
        return f"(({num}) // ({den}))"

    def _print_floor(self, expr: sympy.Expr) -> str:
        num, den = self._ratio(expr.args[0])
        return f"({num})" if den is None else self.divide(num, den)

    def _print_ceiling(self, expr: sympy.Expr) -> str:
        num, den = self._ratio(expr.args[0])
        return f"({num})" if den is None else f"(-{self.divide(f'-({num})', den)})"

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
    return num if den is None else printer.divide(num, den)


class _VectorPrinter(_ExactPrinter):
    """The same expressions as calls of symconv.numeric.batch's array helpers, which keep a bound on
    every value so that no int64 overflow goes unseen. Whatever has no exact array form (a
    fraction outside a floor, a symbolic denominator) raises TypeError: no array program."""

    def _call(self, name: str, args: Any) -> str:
        return f"{name}({', '.join(self._print(a) for a in args)})"

    def divide(self, num: str, den: str) -> str:
        return f"_fdiv({num}, {den})"

    def _print_Add(self, expr: sympy.Expr, order: Any = None) -> str:
        return self._call("_add", expr.args)

    def _print_Mul(self, expr: sympy.Expr) -> str:
        if any(a.is_Rational and not a.is_Integer for a in expr.args):
            raise TypeError("a fraction has no exact array form")
        return self._call("_mul", expr.args)

    def _print_Pow(self, expr: sympy.Pow, rational: bool = False) -> str:
        base, exponent = expr.args
        if not (exponent.is_Integer and exponent >= 0):
            raise TypeError("a negative or symbolic power has no exact array form")
        return f"_pow({self._print(base)}, {int(exponent)})"

    def _print_Rational(self, expr: sympy.Rational) -> str:
        if expr.is_Integer:
            return str(expr)
        raise TypeError("a fraction has no exact array form")

    def _print_Half(self, expr: sympy.Rational) -> str:
        raise TypeError("a fraction has no exact array form")

    def _print_Mod(self, expr: sympy.Expr) -> str:
        return self._call("_mod", expr.args)

    def _print_Min(self, expr: sympy.Expr) -> str:
        return self._call("_min", expr.args)

    def _print_Max(self, expr: sympy.Expr) -> str:
        return self._call("_max", expr.args)

    def _print_Relational(self, expr: Any) -> str:
        # lhs - rhs over a positive whole denominator: the comparison of whole numbers
        num, den = sympy.fraction(sympy.together(expr.lhs - expr.rhs))
        if not (den.is_Integer and den > 0):
            raise TypeError("a comparison of fractions with a symbolic denominator")
        return f"_compare({self._print(num)}, '{expr.rel_op}')"

    def _print_And(self, expr: sympy.Expr) -> str:
        return self._call("_and", expr.args)

    def _print_Or(self, expr: sympy.Expr) -> str:
        return self._call("_or", expr.args)

    def _print_Not(self, expr: sympy.Expr) -> str:
        return self._call("_not", expr.args)

    def _print_Piecewise(self, expr: sympy.Expr) -> str:
        pieces = ", ".join(f"({self._print(c)}, {self._print(e)})" for e, c in expr.args)
        return f"_cases({pieces})"


@dataclass(frozen=True)
class Evaluator:
    """A network compiled for numbers: `evaluator(W=224)` -> one NumericRecord per layer."""

    network: Network
    symbols: tuple[str, ...]
    kinds: tuple[str, ...]
    source: str  # the generated Python ("" where the network could not be compiled)
    _function: Any = field(compare=False)  # (generated code: the source compares)
    # The same program over arrays, for `many` ("" where some layer has no array form)
    vector_source: str = ""
    output_rank: int = 0  # how many sizes the last layer's output has
    arrays: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # `many`
    # The same program with each top-level layer's receptive fields besides (`table_rows`);
    # its source is `source` with the lines the fields take added.
    _table: Any = field(default=None, compare=False, repr=False)

    def __reduce__(self) -> tuple[Any, tuple[Network]]:
        # The compiled functions are generated code, which pickle cannot name: an evaluator
        # pickles as its network and is compiled again on load (copy and deepcopy alike).
        return compile_network, (self.network,)

    def __call__(self, **values: object) -> tuple[NumericRecord, ...]:
        if len(values) != len(self.symbols) or not all(n in values for n in self.symbols):
            missing = [name for name in self.symbols if name not in values]
            self.network.bind(values)  # names an unknown symbol, with a suggestion
            raise SymconvError(
                "numeric evaluation needs a number for every symbol; missing: "
                + ", ".join(missing)
            )
        args = [given if type(given := values[name]) is int else value_of(name, given)
                for name in self.symbols]
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
            rows: tuple[Row, ...]
            rows, total = self._function(*args)
        except (_Rejected, ZeroDivisionError):
            return None
        # `total`, the sum of every count and of the last sizes (all at least 0; a size is
        # at most its layer's neurons), bounds each: only past it is each value compared.
        if total >= TOO_BIG and any(v >= TOO_BIG for shape, *counts in rows
                                    for v in (*shape, *counts)):
            return None
        return rows

    def table_rows(self, args: Sequence[int]) -> TableRows | None:
        """`rows`, and the receptive fields after each top-level layer: the network input's
        shape and per top-level layer (output shape, params, neurons, connections, macs,
        fields, the trace's record of a block or None), every number a Python int (a field's
        value may be a SymPy Rational, as the trace's); None where the trace must answer."""
        try:
            shape, rows, total = self._table(*args)
        except (_Rejected, ZeroDivisionError):
            return None
        if total >= TOO_BIG and any(v >= TOO_BIG for row in rows
                                    for v in (*row[0], *row[1:5])):
            return None
        return shape, rows

    def output_shape(self, **values: object) -> tuple[int, ...]:
        return self(**values)[-1].output_shape

    def many(self, **values: object) -> Batch:
        """Many calls at once: each symbol one value as a call takes it (repeated along the
        rows), or an ordered sequence (a list, tuple, range or 1-d NumPy integer array; all
        of one length), as `many(W=range(1, 10**6), H=224)`; anything else is refused.
        Gives a Batch: per row, the last layer's output shape and the network's totals,
        exact (see symconv.numeric.batch); a row that any layer refuses raises the error a call
        with that row's values raises, with the row named. `many_masked` marks such rows
        in `Batch.valid` instead."""
        from symconv.numeric.batch import evaluate_many

        return evaluate_many(self, values, masked=False)

    def many_masked(self, **values: object) -> Batch:
        """`many`, where a row that a layer refuses is marked False in `Batch.valid` (its
        numbers 0) instead of raising."""
        from symconv.numeric.batch import evaluate_many

        return evaluate_many(self, values, masked=True)

    def params(self, **values: object) -> int:
        return sum(r.params for r in self(**values))


def array_function(source: str, helpers: dict[str, Any]) -> Any:
    """The array program an Evaluator holds in `vector_source` (generated here, from the IR
    only), its operations `helpers` (symconv.numeric.batch)."""
    scope = dict(helpers)
    exec(compile(source, "<symconv arrays>", "exec"), scope)  # our own generated code
    return scope["_evaluate_arrays"]


def compile_network(network: Network) -> Evaluator:
    """The network as straight-line integer code (see the module's docstring)."""
    return _Compiler(network).evaluator()


_COUNTS = ("params", "neurons", "connections", "macs")


class _Compiler:
    """Writes the evaluator's source: one block of lines per layer, a loop per repeat; and
    beside it the same program over arrays (symconv.numeric.batch), where a rule that fails clears
    a row of the mask `_ok` instead of raising."""

    def __init__(self, network: Network):
        self.network = network
        self.printer = _ExactPrinter({"fully_qualified_modules": False})
        self.vector_printer = _VectorPrinter({"fully_qualified_modules": False})
        # The user's symbols become plain integers here, so that no rule is settled by the
        # assumption that they are positive (a caller may pass 0): every such rule is
        # checked at run time. Intermediate sizes may stay positive: the input and every
        # layer's output are checked >= 1 before the next layer uses them.
        self.safe = {symbol(n): sympy.Symbol(f"_u{i}", integer=True)
                     for i, n in enumerate(network.symbols)}
        self.lines: list[str] = []
        self.vector_lines: list[str] | None = []  # None: some layer has no array form
        self.traced: list[Layer] = []  # blocks evaluated by the trace at run time
        self.names = 0
        # Straight-line code (outside loops) computes each value once: the variable that
        # holds each expression, and the variables that only copy another.
        self.held: dict[Any, str] = {}
        self.copies: dict[sympy.Symbol, sympy.Symbol] = {}
        # The receptive fields, for the table program only: the indices in `lines` of its
        # own lines, the Field tuples that are the same for every input (by the name that
        # holds each), and the top-level layers whose fields the trace's recursion gives at
        # run time (blocks, a case split on numbers), each with the symbols it holds.
        self.table_only: set[int] = set()
        self.constants: dict[str, tuple[Field, ...]] = {}
        self.by_fields: dict[tuple[Field, ...], str] = {}
        self.recursed: list[tuple[Layer, tuple[int, ...]]] = []
        self.joined: list[Join] = []  # the joins whose records the table program asks for
        self.after_join = False  # whether a join came before (see _join_fields)
        self.input_spatial: tuple[str, ...] = ()
        # Whether the symbols' trace of the current top-level layer (from the input's
        # fields) ends each axis's field; None where it did not trace the layer whole.
        self.ends: tuple[bool, ...] | None = None

    def evaluator(self) -> Evaluator:
        names = self.network.symbols
        header = f"({', '.join(f'_u{i}' for i in range(len(names)))}):"
        self.lines = [f"def _evaluate{header}"]
        self.vector_lines = [f"def _evaluate_arrays{header}", "    _ok = True"]
        sizes = tuple(_rename(size, self.safe) for size in self.network.input_shape)
        checks: list[Any] = []
        token = PENDING_RULES.set(checks)
        try:
            check_input(sizes)  # the input's rules (whole, at least 1), checked at run time
        finally:
            PENDING_RULES.reset(token)
        for condition in checks:
            self._check(condition, 1)
        shape = inputs = [self._assign(size, 1) for size in sizes]
        self.input_spatial = tuple(shape[1:])
        fields: _Fields = tuple(INPUT for _ in shape[1:])
        fields, held = self._field_tuple(fields)
        rows, kinds, totals, table_rows = [], [], [], []
        # The variables of each named tensor (a Bind's output): its sizes, its fields and
        # the table program's variable holding them.
        start: _Tensor = (shape, fields, held)
        named: dict[str, _Tensor] = {}
        for which, layer in enumerate(self.network.layers):
            before, self.ends = shape, None
            inner = unbound(layer)
            if isinstance(inner, Join):
                sources = [named.get(n, start) for n in inner.names]
                shape, counts = self._join(inner, [sizes for sizes, _, _ in sources])
                fields, held, record = self._join_fields(inner, sources)
            else:
                shape, counts = self._layer(inner, shape, 1)
                fields, held, record = self._fields(which, inner, before, fields, held)
            if isinstance(layer, Bind):
                named[layer.name] = (shape, fields, held)
            row = f"({', '.join(shape)},), {', '.join(counts)}"
            rows.append(f"({row})")
            table_rows.append(f"({row}, {held}, {record})")
            kinds.append(kind_of(layer))
            totals.append(counts)
        every = " + ".join([*shape, *(c for counts in totals for c in counts)])
        lines = [line for i, line in enumerate(self.lines) if i not in self.table_only]
        source = "\n".join([*lines, f"    return ({', '.join(rows)},), {every}"]) + "\n"
        table_source = "\n".join([
            self.lines[0].replace("_evaluate", "_evaluate_table"), *self.lines[1:],
            f"    return {_tuple_code(inputs)}, {_tuple_code(table_rows)}, {every}"]) + "\n"
        sums = ", ".join(f"_add({', '.join(c[i] for c in totals)})" for i in range(4))
        self._vector(f"    return _ok, ({', '.join(shape)},), ({sums},)")
        scope: dict[str, Any] = {
            "Fraction": Fraction, "_Rejected": _Rejected, "_gcd": math.gcd,
            "_traced": self._run_trace, "_scaled": _scaled, "_F": Field, "_number": _number,
            "_checked": _checked, "_unpacked": _unpacked, "_recursed": self._run_fields,
            "_block": self._run_block, "_joined": self._run_join, **self.constants}
        exec(compile(source, "<symconv evaluator>", "exec"), scope)  # our own generated code
        exec(compile(table_source, "<symconv table>", "exec"), scope)  # (the same, and fields)
        vector_source = "" if self.vector_lines is None else "\n".join(self.vector_lines) + "\n"
        return Evaluator(self.network, names, tuple(kinds), source, scope["_evaluate"],
                         vector_source, len(shape), _table=scope["_evaluate_table"])

    # ---------------------------------------------------------- lines

    def _name(self, stem: str) -> str:
        self.names += 1
        return f"_{stem}{self.names}"

    def _vector(self, line: str) -> None:
        if self.vector_lines is not None:
            self.vector_lines.append(line)

    def _vector_code(self, value: Value, exact: bool = True) -> str:
        """The value as array code, or "" (and no array program) where it has none."""
        if self.vector_lines is None:
            return ""
        try:
            if exact:
                return _exact(self.vector_printer, value)
            return str(self.vector_printer._print(value))
        except TypeError:
            self.vector_lines = None
            return ""

    def _assign(self, value: Value | str, depth: int, stem: str = "x") -> str:
        """A new variable holding `value` (an expression, or a variable's name)."""
        name = self._name(stem)
        indent = "    " * depth
        if depth == 1 and not isinstance(value, str):
            value = _rename(value, self.copies)  # in the first variables' terms
            held = self.held.setdefault(value, name)
            if isinstance(value, int | sympy.Integer | sympy.Symbol):
                self.copies[_variable(name)] = sympy.sympify(value, strict=True)
            elif held != name:
                self.copies[_variable(name)] = _variable(held)
            if held != name:
                value = held
        if isinstance(value, str):
            self.lines.append(f"{indent}{name} = {value}")
            self._vector(f"{indent}{name} = {value}")
        else:
            self.lines.append(f"{indent}{name} = {_exact(self.printer, value)}")
            self._vector(f"{indent}{name} = {self._vector_code(value)}")
        return name

    def _check(self, condition: Any, depth: int) -> None:
        indent = "    " * depth
        self.lines.append(f"{indent}if not ({self.printer._print(condition)}): raise _Rejected")
        self._vector(f"{indent}_ok = _and(_ok, {self._vector_code(condition, exact=False)})")

    # ---------------------------------------------------------- layers

    def _layer(self, layer: Layer, shape: list[str], depth: int
               ) -> tuple[list[str], list[str]]:
        """Lines computing one layer's output sizes and counts from the variables `shape`;
        the names of the variables holding them."""
        if isinstance(layer, Repeat):
            return self._repeat(layer, shape, depth)
        if _holds_repeat(layer):  # a block with a repeat inside: the trace, on numbers
            return self._through_trace(layer, shape, depth)
        inputs = tuple(_variable(name) for name in shape)
        pending: list[Any] = []
        scaled: list[tuple[Any, Any, Any]] = []
        token = PENDING_RULES.set(pending)
        scaled_token = SCALED_SIZES.set(scaled)
        try:
            (record,) = trace(inputs, (substitute(layer, self.safe),))
            if depth == 1:
                self.ends = tuple(fd.ended for fd in record.fields)
            values = [*record.output_shape, *(getattr(record, q) for q in _COUNTS)]
            for condition in pending:
                self.printer._print(condition)  # raises TypeError where it has no code
            for value in values:
                _exact(self.printer, value)
            for _, n, q in scaled:
                _exact(self.printer, n), self.printer._print(q)  # (TypeError: no code)
        except (SymconvError, TypeError):
            # A rule that fails for every input, or a value the printer cannot write: the
            # trace decides at run time, and names the rule.
            return self._through_trace(layer, shape, depth)
        finally:
            PENDING_RULES.reset(token)
            SCALED_SIZES.reset(scaled_token)
        # Sizes an upsampling by a scale factor gives: computed by PyTorch's rule in double
        # precision (formulas.scaled_size), before the rules and values that use them.
        names: dict[Any, Any] = {}
        for unknown, n, q in scaled:
            n, q = _rename(n, names), _rename(q, names)
            held = self._name("s")
            line = f"{'    ' * depth}{held} = _scaled("
            self.lines.append(f"{line}{_exact(self.printer, n)}, {self.printer._print(q)})")
            factor = (f"Fraction({q.p}, {q.q})" if isinstance(q, sympy.Rational)
                      else self._vector_code(q, exact=False))
            self._vector(f"{line}{self._vector_code(n)}, {factor})")
            names[unknown] = sympy.Symbol(held, integer=True)
        pending = [_rename(condition, names) for condition in pending]
        values = [_rename(value, names) for value in values]
        for condition in pending:
            self._check(condition, depth)
        sizes = values[:len(record.output_shape)]
        counts = values[len(record.output_shape):]
        return ([self._assign(size, depth) for size in sizes],
                [self._assign(count, depth, "c") for count in counts])

    def _join(self, join: Join, inputs: list[list[str]]) -> tuple[list[str], list[str]]:
        """Lines computing a join's output sizes and counts from the variables of its named
        tensors (joins stand at the top level only: depth 1)."""
        # A variable that holds a number is that number here (a pooled 1 x 1 broadcasts).
        shapes = [tuple(_rename(_variable(name), self.copies) for name in shape)
                  for shape in inputs]
        pending: list[Any] = []
        token = PENDING_RULES.set(pending)
        try:
            out, _ = join_shape(join, shapes)
            values = [*out, 0, *join_counts(join, out)]
            for condition in pending:
                self.printer._print(condition)
            for value in values:
                _exact(self.printer, value)
        except (SymconvError, TypeError):
            # The shapes never fit (or have no code): the trace decides, and says why.
            self.lines.append("    raise _Rejected")
            self.vector_lines = None
            return list(inputs[0]), [self._assign(0, 1, "c") for _ in _COUNTS]
        finally:
            PENDING_RULES.reset(token)
        for condition in pending:
            self._check(condition, 1)
        sizes, counts = values[:len(out)], values[len(out):]
        return ([self._assign(size, 1) for size in sizes],
                [self._assign(count, 1, "c") for count in counts])

    def _repeat(self, block: Repeat, shape: list[str], depth: int
                ) -> tuple[list[str], list[str]]:
        """A loop over the body, its counts summed; the trace's unroll limit checked first
        (arrays: the count is one number for the whole batch)."""
        count = self._assign(_rename(block.count, self.safe), depth, "n")
        body = sympy.sympify(unrolled_layers(block.body), strict=True)
        layers = _exact(self.printer, _rename(body, self.safe))
        indent = "    " * depth
        limit = f"1 <= {count} <= {MAX_UNROLLED} and {count} * ({layers}) <= {MAX_UNROLLED}"
        self.lines.append(f"{indent}if not ({limit}): raise _Rejected")
        self._vector(f"{indent}{count} = _one({count})")
        self._vector(f"{indent}if not ({limit}): _ok = False")
        state = [self._assign(name, depth) for name in shape]
        totals = [self._assign("0", depth, "c") for _ in _COUNTS]
        self.lines.append(f"{indent}for _ in range({count}):")
        self._vector(f"{indent}for _ in range({count}):")
        at = state
        inner = "    " * (depth + 1)
        for layer in block.body:
            at, counts = self._layer(layer, at, depth + 1)
            for t, c in zip(totals, counts, strict=True):
                self.lines.append(f"{inner}{t} += {c}")
                self._vector(f"{inner}{t} = _add({t}, {c})")
        for s, a in zip(state, at, strict=True):
            self.lines.append(f"{inner}{s} = {a}")
            self._vector(f"{inner}{s} = {a}")
        return state, totals

    def _through_trace(self, layer: Layer, shape: list[str], depth: int
                       ) -> tuple[list[str], list[str]]:
        self.traced.append(layer)
        self.vector_lines = None  # the trace takes numbers, not arrays
        args = ", ".join(f"_u{i}" for i in range(len(self.safe)))
        row = self._assign(f"_traced({len(self.traced) - 1}, ({', '.join(shape)},), ({args},))",
                           depth, "t")
        out = [self._assign(f"{row}[0][{a}]", depth) for a in range(len(shape))]
        return out, [self._assign(f"{row}[{i}]", depth, "c") for i in range(1, 5)]

    # ---------------------------------------------------------- receptive fields

    def _table_line(self, line: str) -> None:
        self.table_only.add(len(self.lines))
        self.lines.append(line)

    def _fields(self, which: int, layer: Layer, shape: list[str], fields: _Fields, held: str
                ) -> tuple[_Fields, str, str]:
        """The table program's lines for the receptive fields after top-level layer `which`,
        whose input sizes are the variables `shape` and whose input's fields are `fields`
        (held at run time by `held`): the fields after it, the code that holds them, and
        the code of its record where it is a block ("None" for any other layer). A layer of
        a kind in _FIELD_FORMULAS is traced once with symbols and printed; any other, or a
        field the printer cannot write, is the trace's recursion on the call's numbers."""
        in_spatial = tuple(_variable(n) for n in shape[1:])
        input_spatial = tuple(_variable(n) for n in self.input_spatial)
        after: _Fields | None = None
        if not isinstance(layer, Block) and not self.after_join:
            try:
                after = layer_fields(substitute(layer, self.safe), fields, in_spatial,
                                     input_spatial)
            except (SymconvError, TypeError, ValueError, ZeroDivisionError):
                after = None
        if after is fields:
            return fields, held, "None"  # a layer that leaves the fields as they are
        if after is not None and isinstance(layer, _FIELD_FORMULAS):
            try:
                return *self._field_tuple(after), "None"
            except TypeError:
                pass  # a value without code: the recursion below
        names: set[str] = set()
        collect_names(layer, names)
        self.recursed.append((layer, tuple(self.network.symbols.index(n)
                                           for n in sorted(names))))
        args = _tuple_code([f"_u{i}" for i in range(len(self.safe))])
        call = (f"{len(self.recursed) - 1}, {_tuple_code(shape)}, {held}, "
                f"{_tuple_code(self.input_spatial)}, {args}")
        out, record = self._name("fd"), "None"
        if isinstance(layer, Block):
            record = self._name("r")
            self._table_line(f"    {record} = _block({call})")
            self._table_line(f"    {out} = {record}.fields")
        else:
            self._table_line(f"    {out} = _recursed({call})")
        # What follows is compiled again from the values as variables; whether each axis's
        # field has ended (after flatten) is as the symbols' trace said (of the layer's
        # fields, or of the whole block's from its own start), else as before the layer,
        # and checked at run time (the trace answers where it is not so).
        if self.after_join:
            return fields, out, record  # (known at run time only: see _join_fields)
        ends = [fd.ended for fd in after or fields]
        if after is None and self.ends is not None:
            ends = [a or b for a, b in zip(ends, self.ends, strict=True)]
        return self._unpacked(out, ends), out, record

    def _unpacked(self, out: str, ends: Sequence[bool]) -> _Fields:
        """Variables for the fields held at run time by `out`, each axis's field ended where
        `ends` says (checked at run time: the trace answers where it is not so)."""
        state = []
        for axis, ended in enumerate(ends):
            values = [self._name("f") for _ in range(3)]
            self._table_line(f"    {', '.join(values)} = _unpacked({out}[{axis}], {ended})")
            size, jump, start = (sympy.Symbol(v, rational=True) for v in values)
            state.append(Field(size, None if ended else jump, start))
        return tuple(state)

    def _join_fields(self, join: Join, sources: list[_Tensor]) -> tuple[_Fields, str, str]:
        """The table program's lines for a join's record (engine/joins.join_record on the
        named tensors' numbers and fields at run time): its fields, the code that holds
        them, and the record's variable. Whether a join's field has ended depends on the
        numbers (an input broadcast along an axis sees the whole input there), so from the
        first join on every layer's fields are the trace's code on the call's numbers, and
        the compile-time fields returned are a stand-in nothing reads."""
        self.after_join = True
        self.joined.append(join)
        inputs = _tuple_code([f"({_tuple_code(sizes)}, {held})" for sizes, _, held in sources])
        record, out = self._name("r"), self._name("fd")
        self._table_line(f"    {record} = _joined({len(self.joined) - 1}, {inputs}, "
                         f"{_tuple_code(self.input_spatial)})")
        self._table_line(f"    {out} = {record}.fields")
        return sources[0][1], out, record

    def _field_tuple(self, fields: _Fields) -> tuple[_Fields, str]:
        """Code holding `fields` at run time (a constant where every value is a number, else
        a variable of the table program), and the fields in terms of that code's variables.
        TypeError where a value has no code."""
        if all(_constant(v) for fd in fields for v in (fd.size, fd.jump, fd.start)):
            numbers = tuple(Field(*(_as_number(v) for v in (fd.size, fd.jump, fd.start)))
                            for fd in fields)
            if any(map(_field_too_big, numbers)):
                self._table_line("    raise _Rejected")  # the trace's refusal, at this layer
            name = self.by_fields.get(numbers)
            if name is None:
                name = self.by_fields[numbers] = f"_K{len(self.constants)}"
                self.constants[name] = numbers
            return numbers, name
        codes, state = [], []
        for fd in fields:
            values = []
            for v in (fd.size, fd.jump, fd.start):
                if _constant(v):
                    n = _as_number(v)
                    code = f"_number(Fraction({n.p}, {n.q}))" if isinstance(n, sympy.Rational) \
                        else repr(n)  # (an int, or None)
                    values.append((n, code))
                    continue
                code = _fraction_code(self.printer, v)  # (TypeError: no code)
                variable = self._name("f")
                self._table_line(f"    {variable} = _checked({code})")
                values.append((sympy.Symbol(variable, rational=True), f"_number({variable})"))
            state.append(Field(*(v for v, _ in values)))
            codes.append(f"_F({', '.join(c for _, c in values)})")
        held = self._name("fd")
        self._table_line(f"    {held} = {_tuple_code(codes)}")
        return tuple(state), held

    def _bound(self, which: int, args: tuple[int, ...]) -> Layer:
        """A recursed layer with the call's values in place."""
        layer, positions = self.recursed[which]
        if not positions:
            return layer
        symbols = self.network.symbols
        bound: Layer = substitute(layer, substitution({symbols[i]: args[i] for i in positions}))
        return bound

    def _run_fields(self, which: int, shape: tuple[int, ...], fields: tuple[Field, ...],
                    input_spatial: tuple[int, ...], args: tuple[int, ...]
                    ) -> tuple[Field, ...]:
        """The fields after a (non-block) layer by the trace's recursion, on numbers."""
        try:
            after = layer_fields(self._bound(which, args), fields, shape[1:], input_spatial)
        except SymconvError:
            raise _Rejected from None  # the whole trace then says where and why
        if any(map(_field_too_big, after)):
            raise _Rejected
        return after

    def _run_block(self, which: int, shape: tuple[int, ...], fields: tuple[Field, ...],
                   input_spatial: tuple[int, ...], args: tuple[int, ...]) -> Record:
        """A block's record by the trace itself, its children inside, on numbers."""
        try:
            (record,), _ = chain((self._bound(which, args),),
                                 Chain(shape, fields, input_spatial))
        except SymconvError:
            raise _Rejected from None
        return record

    def _run_join(self, which: int, inputs: tuple[tuple[tuple[int, ...], tuple[Field, ...]],
                                                  ...],
                  input_spatial: tuple[int, ...]) -> Record:
        """A join's record by the trace's own code (engine/joins.py), on numbers."""
        chains = [Chain(shape, fields, input_spatial) for shape, fields in inputs]
        try:
            record = join_record(0, self.joined[which], chains, 0)
        except SymconvError:
            raise _Rejected from None
        if any(map(_field_too_big, record.fields)):
            raise _Rejected
        return record

    def _run_trace(self, which: int, shape: tuple[int, ...], args: tuple[int, ...]
                   ) -> tuple[Any, ...]:
        """One block's numbers by the trace itself, with the call's values in place."""
        values = dict(zip(self.network.symbols, args, strict=True))
        layer = substitute(self.traced[which], substitution(values))
        try:
            (record,) = trace(shape, (layer,))
        except SymconvError:
            raise _Rejected from None  # the whole trace then says where and why
        return (tuple(int(v) for v in record.output_shape),
                *(int(getattr(record, q)) for q in _COUNTS))


# Compile-time receptive fields: each value a number, None (the jump of an ended field) or
# an expression in the table program's variables.
_Fields = tuple[Field, ...]
# A tensor in the table program: its sizes' variables, its fields, the code holding them.
_Tensor = tuple[list[str], _Fields, str]

# Layer kinds whose receptive field is one formula in the sizes and fields before it, for
# every value (so traced once with symbols, it is compiled). Any other (adaptive pooling,
# whose field depends on whether its output size divides its input's; the blocks; a kind
# not listed here) is given by the trace's recursion on the call's numbers.
_FIELD_FORMULAS = (Conv, ConvTranspose, Pool, Pad, PixelShuffle, Upsample, Flatten, Linear,
                   GlobalPool, BatchNorm, GroupNorm, LayerNorm, InstanceNorm, Activation,
                   Dropout, ChannelShuffle, Chunk)


def _fraction_code(printer: _ExactPrinter, value: Any) -> str:
    """A field's value as code that is exact on ints and Fractions: one Fraction of its
    numerator and denominator where it has one (never `/`, which gives a float); TypeError
    where it has no such code."""
    num, den = printer._ratio(value)
    code = num if den is None else f"Fraction({num}, {den})"
    if re.search(r"(?<!/)/(?!/)", code):
        raise TypeError("a true division")
    return code


def _tuple_code(items: Sequence[str]) -> str:
    return f"({', '.join(items)},)" if items else "()"


def _constant(value: Any) -> bool:
    return value is None or isinstance(value, int | sympy.Rational)


def _as_number(value: Any) -> Any:
    """A constant as the trace holds it: an int, a SymPy Rational, or None."""
    if isinstance(value, sympy.Integer):
        return int(value)
    return value


def _number(value: int | Fraction | None) -> Value | None:
    """A field's value as the trace holds it: an int, or a SymPy Rational for a fraction."""
    if type(value) is int or value is None:
        return value
    assert isinstance(value, Fraction)
    if value.denominator == 1:
        return value.numerator
    return sympy.Rational(value.numerator, value.denominator)


def _checked(value: int | Fraction) -> int | Fraction:
    """The value, unless it has a number of more than MAX_DIGITS digits (the trace says)."""
    if type(value) is int:
        if -TOO_BIG < value < TOO_BIG:
            return value
    elif abs(value.numerator) < TOO_BIG and value.denominator < TOO_BIG:
        return value
    raise _Rejected


def _unpacked(field: Field, ended: bool) -> tuple[Any, Any, Any]:
    """A field's values for the table program's arithmetic (ints and Fractions), where it
    has ended as the program was compiled for (else the trace answers)."""
    if (field.jump is None) != ended:
        raise _Rejected
    size, jump, start = (v if type(v) is int or v is None else Fraction(int(v.p), int(v.q))  # type: ignore[union-attr]
                         for v in (field.size, field.jump, field.start))
    return size, jump, start


def _field_too_big(field: Field) -> bool:
    """Whether a field holds a number of more than MAX_DIGITS digits (as the trace checks)."""
    return any(v is not None and too_big(v) for v in (field.size, field.jump, field.start))


def _scaled(n: int, scale: int | Fraction) -> int:
    """An upsampled size, as the trace computes it (formulas.scaled_size); where the product
    is past the doubles' range, the trace says so."""
    try:
        return scaled_size(n, scale)
    except OverflowError:
        raise _Rejected from None


def _variable(name: str) -> sympy.Symbol:
    """The symbol that stands for a variable of the generated code (as `_layer` makes it)."""
    return sympy.Symbol(name, integer=True, positive=True)


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
