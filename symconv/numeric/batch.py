"""Many numeric calls at once: `network.evaluator().many(W=range(1, 10**6))`.

The compiled evaluator's program is also written over arrays (symconv.numeric.evaluate): each
variable holds one number per row, and a rule that fails clears that row in a mask instead
of raising. With NumPy installed (imported here, on the first batch, never by symconv's
import) the rows run as int64 arrays, chunk by chunk. Every array carries a bound on its
values, worked out from its operands' bounds (|a + b| <= |a| + |b|, |a·b| <= |a|·|b|,
|a // b| <= |a|, |a mod b| < |b|), so that a chunk whose numbers could pass 2**63 − 1 is
never computed in int64: it is computed again as arrays of Python ints, exactly. Without
NumPy, or for a network whose program has no array form (a repeat count that differs
between rows, a block left to the trace), each row is one ordinary compiled call, exact
and slower (tens of microseconds a row).

Rows that a layer refuses: `many` raises the error that a call with that row's values
raises, naming the first such row; `many_masked` gives them as False in `Batch.valid`, with
0 for their numbers.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from symconv.algebra.symbols import describe
from symconv.engine.formulas import scaled_size
from symconv.errors import InvalidValueError, SymconvError
from symconv.language.parse import TOO_BIG
from symconv.language.values import value_of
from symconv.numeric.evaluate import array_function

if TYPE_CHECKING:
    from symconv.numeric.evaluate import Evaluator

CHUNK = 1 << 14  # rows per array pass: the program's arrays stay within a few MB
LIMIT = 1 << 63  # no int64 value reaches it


@dataclass(frozen=True)
class Batch:
    """The answers for many rows of values: per row, the last layer's output shape (one
    sequence per axis) and the network's totals. NumPy int64 arrays, or object arrays of
    Python ints where a number passes int64; lists of Python ints without NumPy."""

    valid: Any  # per row: whether every layer accepts the row's values
    output_shape: tuple[Any, ...]
    params: Any
    neurons: Any
    connections: Any
    macs: Any

    def __len__(self) -> int:
        return len(self.valid)


class _Overflow(Exception):
    """A chunk's numbers could pass int64: compute it with Python ints."""


class _NoArrays(Exception):
    """The row values cannot share one array program (a repeat count that differs)."""


def _numpy() -> Any:
    """NumPy, or None where it is not installed."""
    try:
        import numpy
    except ImportError:
        return None
    return numpy


def evaluate_many(evaluator: Evaluator, values: Mapping[str, object], masked: bool) -> Batch:
    """See Evaluator.many and the module's docstring."""
    missing = [name for name in evaluator.symbols if name not in values]
    unknown = [name for name in values if name not in evaluator.symbols]
    if missing or unknown:
        evaluator.network.bind(dict.fromkeys(values, 1))  # names an unknown symbol
        raise SymconvError("numeric evaluation needs a number for every symbol; missing: "
                           + ", ".join(missing))
    np = _numpy()
    columns = {name: _column(name, values[name], np) for name in evaluator.symbols}
    lengths = {len(c) for c in columns.values() if not isinstance(c, int)}
    if len(lengths) > 1:
        raise InvalidValueError("many: every sequence of values must have the same length, got "
                                + ", ".join(f"{n}: {len(c)}" for n, c in columns.items()
                                            if not isinstance(c, int)))
    rows = lengths.pop() if lengths else 1
    args = [columns[name] for name in evaluator.symbols]
    if np is None:
        batch = _rows_one_by_one(evaluator, args, rows, None)
    else:
        program = _program(evaluator)
        parts = [_chunk(evaluator, program, args, start, min(start + CHUNK, rows), np)
                 for start in range(0, rows, CHUNK)] or [_empty(evaluator, np)]
        def joined(name: str) -> Any:
            return _join([getattr(p, name) for p in parts], np)

        batch = Batch(joined("valid"),
                      tuple(_join([p.output_shape[a] for p in parts], np)
                            for a in range(len(parts[0].output_shape))),
                      joined("params"), joined("neurons"), joined("connections"), joined("macs"))
    if not masked and not all(batch.valid):
        _raise_first(evaluator, args, batch.valid)
    return batch


# What `many` takes for one symbol, as its messages say it.
TAKES = ("a whole number (or its text, as a single call takes it) or an ordered sequence of "
         "them: a list, tuple, range or 1-d NumPy integer array")


def _column(name: str, given: object, np: Any) -> Any:
    """One symbol's values: an int for one number (anything a single call takes), else an
    int64 or object array (a list of ints without NumPy) from an ordered sequence. Anything
    else (bytes, a set or dict, which have no order for rows, a 2-d or float array, an
    iterator) is refused with an InvalidValueError naming the symbol."""
    items: Sequence[object]
    if isinstance(given, list | tuple | range):
        items = given
    elif np is not None and isinstance(given, np.ndarray) and given.ndim == 1:
        if given.dtype.kind == "i":
            return given.astype(np.int64, copy=False)
        if given.dtype.kind != "u":
            raise InvalidValueError(f"many: {name} is a NumPy array of {given.dtype} values; "
                                    f"it takes {TAKES}")
        items = given.tolist()  # unsigned: as Python ints (past int64 too)
    else:
        try:
            value = value_of(name, given)
        except InvalidValueError as error:
            unordered = " (which has no order for the rows)" if isinstance(
                given, set | frozenset | dict) else ""
            raise InvalidValueError(f"many: {name} takes {TAKES}, got "
                                    f"{describe(given)}{unordered}") from error
        return _whole(name, value)
    if (np is not None and isinstance(items, range)
            and min(items.start, items.stop) > -LIMIT and max(items.start, items.stop) < LIMIT):
        return np.arange(items.start, items.stop, items.step, dtype=np.int64)
    numbers = [_whole(f"{name}[{i}]", value_of(f"{name}[{i}]", item))
               for i, item in enumerate(items)]
    return numbers if np is None else _exact_array(numbers, np)


def _whole(name: str, value: object) -> int:
    if not isinstance(value, int):
        raise InvalidValueError(f"numeric evaluation takes a whole number for every symbol, "
                                f"got {name} = {value}")
    return value


def _row(args: Sequence[Any], i: int) -> list[int]:
    return [a if isinstance(a, int) else int(a[i]) for a in args]


def _rows_one_by_one(evaluator: Evaluator, args: Sequence[Any], rows: int, np: Any,
                     start: int = 0) -> Batch:
    """Each row as one compiled call (exact Python ints)."""
    valid: list[bool] = []
    shapes: list[tuple[int, ...] | None] = []
    counts: list[tuple[int, ...]] = []
    width = None
    for i in range(start, start + rows):
        found = evaluator.rows(_row(args, i))
        if found is None:
            valid.append(False)
            shapes.append(None)
            counts.append((0, 0, 0, 0))
            continue
        shape = found[-1][0]
        width = len(shape)
        valid.append(True)
        shapes.append(shape)
        counts.append((sum(r[1] for r in found), sum(r[2] for r in found),
                       sum(r[3] for r in found), sum(r[4] for r in found)))
    width = width if width is not None else evaluator.output_rank
    axes = tuple([0 if s is None else s[a] for s in shapes] for a in range(width))
    sums = [[c[q] for c in counts] for q in range(4)]
    if np is not None:
        return Batch(np.array(valid, dtype=bool), tuple(_exact_array(a, np) for a in axes),
                     *(_exact_array(s, np) for s in sums))
    return Batch(valid, axes, *sums)


def _exact_array(numbers: list[int], np: Any) -> Any:
    if all(-LIMIT < v < LIMIT for v in numbers):
        return np.array(numbers, dtype=np.int64)
    column = np.empty(len(numbers), dtype=object)
    column[:] = numbers
    return column


def _empty(evaluator: Evaluator, np: Any) -> Batch:
    width = evaluator.output_rank
    nothing = np.zeros(0, dtype=np.int64)
    return Batch(np.zeros(0, dtype=bool), (nothing,) * width, nothing, nothing, nothing,
                 nothing)


def _join(parts: list[Any], np: Any) -> Any:
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _raise_first(evaluator: Evaluator, args: Sequence[Any], valid: Any) -> None:
    """The error a call with the first refused row's values raises, the row named."""
    first = next(i for i, ok in enumerate(valid) if not ok)
    row = dict(zip(evaluator.symbols, _row(args, first), strict=True))
    try:
        evaluator(**row)
    except SymconvError as error:
        refused = sum(1 for ok in valid if not ok)
        raise type(error)(f"{error.message} (row {first} of the batch: {refused} of "
                          f"{len(valid)} rows refused; many_masked marks them instead)",
                          error.source, error.layer) from None
    raise AssertionError("the array program and the compiled code disagree")


# ---------------------------------------------------------------- the array program


@dataclass(frozen=True)
class _Program:
    fixed: Any  # int64 arrays with bounds checked; None where there is no array program
    exact: Any  # arrays of Python ints


def _program(evaluator: Evaluator) -> _Program:
    cached: _Program | None = evaluator.arrays.get("program")
    if cached is not None:
        return cached
    if not evaluator.vector_source:
        program = _Program(None, None)
    else:
        program = _Program(*(array_function(evaluator.vector_source, _helpers(bounded))
                             for bounded in (True, False)))
    evaluator.arrays["program"] = program  # the same program whoever builds it
    return program


def _chunk(evaluator: Evaluator, program: _Program, args: Sequence[Any], start: int, stop: int,
           np: Any) -> Batch:
    rows = stop - start
    if program.fixed is not None:
        for bounded in (True, False):
            try:
                return _run(program.fixed if bounded else program.exact, args, start, stop,
                            bounded, np)
            except (_Overflow, OverflowError):
                continue  # the same rows again, with Python ints (bounded first)
            except (_NoArrays, TypeError, ValueError):
                break
    return _rows_one_by_one(evaluator, args, rows, np, start)


class _Vec:
    """One value per row, and a bound on their magnitudes (None: Python ints, unbounded)."""

    __slots__ = ("a", "bound")

    def __init__(self, a: Any, bound: int | None):
        self.a = a
        self.bound = bound

    def __neg__(self) -> _Vec:
        return _Vec(-self.a, self.bound)


def _run(function: Any, args: Sequence[Any], start: int, stop: int, bounded: bool, np: Any
         ) -> Batch:
    vectors: list[Any] = []
    for a in args:
        if isinstance(a, int):
            if bounded and not -LIMIT < a < LIMIT:
                raise _Overflow
            vectors.append(a)
            continue
        part = a[start:stop]
        if bounded:
            if part.dtype == object:
                raise _Overflow
            bound = max(int(part.max()), -int(part.min())) if len(part) else 0
            vectors.append(_Vec(part, bound))
        else:
            vectors.append(_Vec(part.astype(object), None))
    with np.errstate(all="ignore"):
        ok, shape, totals = function(*vectors)
    rows = stop - start

    def column(x: Any, dtype: Any) -> Any:
        value = x.a if isinstance(x, _Vec) else x
        if np.ndim(value) == 0:
            return np.full(rows, value, dtype=dtype)
        return value

    kind = np.int64 if bounded else object
    valid = column(ok, bool)
    numbers = [np.where(valid, column(v, kind), 0) for v in (*shape, *totals)]
    if not bounded:
        numbers = [n.astype(object) for n in numbers]
        if any(len(n) and n.max() >= TOO_BIG for n in numbers):
            raise _NoArrays  # the scalar path decides, as it refuses numbers that long
    width = len(shape)
    return Batch(valid, tuple(numbers[:width]), *numbers[width:])


def _helpers(bounded: bool) -> dict[str, Any]:
    """The functions the array program calls: NumPy operations on _Vec values, ints left
    as ints; with `bounded`, every result's bound is checked below 2**63."""
    import numpy as np

    def vec(a: Any, bound: int | None) -> _Vec:
        if bounded and bound is not None and bound >= LIMIT:
            raise _Overflow
        return _Vec(a, bound)

    def split(xs: Sequence[Any]) -> tuple[list[int], list[_Vec]]:
        return [x for x in xs if not isinstance(x, _Vec)], [x for x in xs if isinstance(x, _Vec)]

    def bound_of(x: Any) -> int | None:
        return x.bound if isinstance(x, _Vec) else abs(x)

    def add(*xs: Any) -> Any:
        numbers, vectors = split(xs)
        constant = sum(numbers)
        if not vectors:
            return constant
        total = functools.reduce(lambda a, b: a + b, [v.a for v in vectors])
        bounds = [v.bound for v in vectors]
        bound = None if None in bounds else abs(constant) + sum(bounds)  # type: ignore[arg-type]
        if bounded and not -LIMIT < constant < LIMIT:
            raise _Overflow
        return vec(total + constant if constant else total, bound)

    def mul(*xs: Any) -> Any:
        numbers, vectors = split(xs)
        constant = math.prod(numbers)
        if not vectors or constant == 0:
            return constant if not vectors else vec(vectors[0].a * 0, 0)
        bounds = [v.bound for v in vectors]
        bound = None if None in bounds else abs(constant) * math.prod(bounds)  # type: ignore
        if bounded and bound is not None and bound >= LIMIT:
            raise _Overflow
        product = functools.reduce(lambda a, b: a * b, [v.a for v in vectors])
        return vec(product * constant if constant != 1 else product, bound)

    def power(base: Any, n: int) -> Any:
        if not isinstance(base, _Vec):
            return base ** n
        return mul(*([base] * n)) if n else 1

    def safe(divisor: Any) -> Any:
        # a zero divisor only meets rows a rule refuses, or a case not taken: any value
        return np.where(divisor.a == 0, 1, divisor.a)

    def fdiv(a: Any, b: Any) -> Any:
        if not isinstance(a, _Vec) and not isinstance(b, _Vec):
            return a // b if b else 0
        if isinstance(b, _Vec):
            return vec((a.a if isinstance(a, _Vec) else a) // safe(b), bound_of(a))
        return vec(a.a // (b or 1), a.bound)

    def mod(a: Any, b: Any) -> Any:
        if not isinstance(a, _Vec) and not isinstance(b, _Vec):
            return a % b if b else 0
        if isinstance(b, _Vec):
            return vec((a.a if isinstance(a, _Vec) else a) % safe(b), b.bound)
        return vec(a.a % (b or 1), abs(b))

    def gcd(a: Any, b: Any) -> Any:
        if not isinstance(a, _Vec) and not isinstance(b, _Vec):
            return math.gcd(a, b)
        bounds = [bound_of(a), bound_of(b)]
        bound = None if None in bounds else max(bounds)  # type: ignore[type-var]
        return vec(np.gcd(getattr(a, "a", a), getattr(b, "a", b)), bound)

    def extreme(choose: Any, pick: Any) -> Any:
        def f(*xs: Any) -> Any:
            numbers, vectors = split(xs)
            if not vectors:
                return pick(numbers)
            items = [v.a for v in vectors] + ([pick(numbers)] if numbers else [])
            bounds = [bound_of(x) for x in xs]
            bound = None if None in bounds else max(bounds)  # type: ignore[type-var]
            return vec(functools.reduce(choose, items), bound)
        return f

    def compare(x: Any, op: str) -> Any:
        value = x.a if isinstance(x, _Vec) else x
        match op:
            case ">=":
                return value >= 0
            case ">":
                return value > 0
            case "<=":
                return value <= 0
            case "<":
                return value < 0
            case "==":
                return value == 0
            case "!=":
                return value != 0
        raise TypeError(op)

    def both(*xs: Any) -> Any:
        return functools.reduce(lambda a, b: a & b if a is not True else b, xs)

    def either(*xs: Any) -> Any:
        return functools.reduce(lambda a, b: a | b if a is not False else b, xs)

    def negation(x: Any) -> Any:
        return not x if isinstance(x, bool) else ~x

    def cases(*pieces: tuple[Any, Any]) -> Any:
        if pieces[0][0] is True:
            return pieces[0][1]
        conditions = [np.asarray(c) for c, _ in pieces]
        values = [getattr(e, "a", e) for _, e in pieces]
        bounds = [bound_of(e) for _, e in pieces]
        bound = None if None in bounds else max(bounds)  # type: ignore[type-var]
        dtype = np.int64 if bounded else object
        rows = max((np.size(v) for v in (*values, *conditions)), default=1)
        chosen = np.select([np.broadcast_to(c, rows) for c in conditions],
                           [np.broadcast_to(np.asarray(v, dtype=dtype), rows) for v in values],
                           default=0)
        return vec(chosen, bound)

    def scaled(n: Any, q: Any) -> Any:
        # PyTorch's rule in double precision (formulas.scaled_size): float64 arrays round
        # and multiply as Python's floats do. The result is at most about |n|·|q|.
        if not isinstance(n, _Vec) and not isinstance(q, _Vec):
            try:
                return scaled_size(n, q)
            except OverflowError:
                raise _NoArrays from None  # the rows one by one: the trace says why
        n_bound, q_bound = bound_of(n), bound_of(q)
        bound = (None if n_bound is None or q_bound is None
                 else 2 * n_bound * math.ceil(abs(q_bound)) + 2)
        if bounded:
            if bound is None or bound >= LIMIT:
                raise _Overflow
            factor = q.a.astype(np.float64) if isinstance(q, _Vec) else float(q)
            size = n.a.astype(np.float64) if isinstance(n, _Vec) else float(n)
            return vec(np.floor(size * factor).astype(np.int64), bound)
        items = np.broadcast(getattr(n, "a", n), getattr(q, "a", q))
        try:
            out = [scaled_size(int(a), b if isinstance(b, Fraction) else int(b))
                   for a, b in items]
        except OverflowError:
            raise _NoArrays from None
        column = np.empty(len(out), dtype=object)
        column[:] = out
        return vec(column, None)

    def one(x: Any) -> int:
        if not isinstance(x, _Vec):
            return int(x)
        values = x.a
        if len(values) and (values == values[0]).all():
            return int(values[0])
        raise _NoArrays

    return {"_add": add, "_mul": mul, "_pow": power, "_fdiv": fdiv, "_mod": mod, "_gcd": gcd,
            "_min": extreme(np.minimum, min), "_max": extreme(np.maximum, max),
            "_compare": compare, "_and": both, "_or": either, "_not": negation,
            "_cases": cases, "_one": one, "_scaled": scaled, "Fraction": Fraction}
