"""The network: an input shape and its layers, with the questions users ask of it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sympy

from symconv.build import build, no_words
from symconv.errors import (
    InvalidValueError,
    LayerSource,
    ShapeError,
    Source,
    SymconvError,
    UnknownNameError,
    did_you_mean,
)
from symconv.layers import Layer, Shared, shared_of
from symconv.parse import high_degree, parse_shape, parse_statements
from symconv.render.values import text_value
from symconv.symbols import (
    Value,
    as_value,
    describe,
    free_names,
    substitution,
    truth,
    value_of,
    whole_number,
)
from symconv.trace import Record, check_input, trace, whole

if TYPE_CHECKING:
    from symconv.evaluate import Evaluator
    from symconv.render.figure import Drawing

Shape = tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class LayerRecord:
    """One row of `Network.table()`: SymPy objects throughout."""

    index: int
    kind: str
    output_shape: tuple[sympy.Expr, ...]
    params: sympy.Expr
    neurons: sympy.Expr
    connections: sympy.Expr
    macs: sympy.Expr
    input_shape: tuple[sympy.Expr, ...] = field(repr=False, default=())
    # Receptive field of one output unit, per spatial axis of the network input (None: a
    # jump after flatten, where every unit sees the whole input).
    receptive_field: tuple[sympy.Expr, ...] = ()
    jump: tuple[sympy.Expr | None, ...] = ()
    start: tuple[sympy.Expr, ...] = ()
    # Blocks: the rows inside (path 1, 2, ... for the branches), alignment and the condition
    # under which the branches' shapes agree.
    children: tuple[LayerRecord, ...] = field(repr=False, default=())
    path: int = 0
    aligned: Any = None
    condition: Any = None
    # A module used at more than one place (from_torch): its parameters count at the first.
    shared: Shared | None = None


@dataclass(frozen=True, slots=True)
class Unused:
    """Parameters a torch model holds but its forward never uses (from_torch): a module that
    is never called (`module`), or a tensor of one (not `module`); counted in no total."""

    path: str  # as model.named_modules() / named_parameters() name it
    params: int
    module: bool = True


@dataclass(frozen=True, slots=True)
class Network:
    input_shape: Shape
    layers: tuple[Layer, ...]
    input_source: Source | None = field(default=None, compare=False)
    # from_torch: what model.parameters() holds beyond the layers' parameters. Not part of
    # the network's arithmetic (so not compared), but said wherever totals are shown.
    unused_parameters: tuple[Unused, ...] = field(default=(), compare=False)

    # ---------------------------------------------------------- symbols and values

    @property
    def symbols(self) -> tuple[str, ...]:
        """Names of every symbol in the input and the layers, sorted."""
        names: set[str] = set()
        _collect_names((self.input_shape, self.layers), names)
        return tuple(sorted(names))

    def bind(self, values: Mapping[str, object] | None = None, /, **more: object) -> Network:
        """The network with symbols replaced by the given values (numbers or expressions)."""
        if values is not None and not isinstance(values, Mapping):
            raise InvalidValueError(f"bind: expected a mapping of symbol names to values, got "
                                    f"{type(values).__name__}")
        merged = {**(values or {}), **more}
        if not merged:
            return self
        known = self.symbols
        for name in merged:
            if not isinstance(name, str):
                raise InvalidValueError(f"bind: a symbol's name must be text such as 'W', "
                                        f"got {type(name).__name__}")
            if name not in known:
                have = ", ".join(known) if known else "none"
                raise UnknownNameError(
                    f"unknown symbol '{name}'{did_you_mean(name, known)} "
                    f"(the network's symbols: {have})"
                )
        return _substitute(self, substitution(merged))

    def upto(self, layer: object) -> Network:
        """The input and the layers 1 to `layer`, numbered as `table` and `rf` number them (a
        block is one layer): `symconv.solve(net.upto(8), "W", 7)` asks for layer 8's output.
        The layers after it are left out of every question asked of the result."""
        n = whole_number("layer", layer)
        if not 1 <= n <= len(self.layers):
            raise UnknownNameError(f"no layer {n}: the network has layers 1 to "
                                   f"{len(self.layers)}")
        return dataclasses.replace(self, layers=self.layers[:n])

    # ---------------------------------------------------------- answers

    def records(self, **values: object) -> tuple[Record, ...]:
        """Per-layer records with ints where numbers are known (the fast numeric form)."""
        bound = self.bind(values)
        try:
            check_input(bound.input_shape)
        except SymconvError as error:
            raise _naming(error, values, self.input_shape, self.input_source) from None
        try:
            records = trace(bound.input_shape, bound.layers)
        except SymconvError as error:
            raise _naming(error, values, _layer_at(self.layers, error.source),
                          error.source) from None
        _whole_symbols(values)
        return records

    def table(self, **values: object) -> tuple[LayerRecord, ...]:
        """One record per layer (after the input), every field a SymPy object."""
        return tuple(_public(r) for r in self.records(**values))

    def region(
        self, layer: int, unit: Sequence[Value], **values: object
    ) -> tuple[tuple[sympy.Expr, sympy.Expr], ...]:
        """The input positions [first, last] that output unit `unit` (one index per spatial
        axis, from 0) of layer `layer` (from 1) sees, per axis; positions below 0 or past
        n - 1 lie in the padding."""
        records = self.records(**values)
        layer = whole_number("layer", layer)
        if not isinstance(unit, tuple | list):
            raise InvalidValueError(f"unit: expected one index per spatial axis, got "
                                    f"{describe(unit)}")
        unit = tuple(value_of(f"unit[{i}]", u) for i, u in enumerate(unit))
        if not 1 <= layer <= len(records):
            raise UnknownNameError(f"no layer {layer}: the network has {len(records)} layers")
        fields = records[layer - 1].fields
        if len(unit) != len(fields):
            raise ShapeError(f"give one unit index per spatial axis ({len(fields)}), "
                             f"got {len(unit)}")
        return tuple(
            (sympy.sympify(first, strict=True), sympy.sympify(last, strict=True))
            for first, last in (fd.interval(u) for fd, u in zip(fields, unit, strict=True))
        )

    def output_shape(self, **values: object) -> tuple[sympy.Expr, ...]:
        """The shape after the last layer (the input's, for a network with no layers)."""
        records = self.records(**values)
        shape = records[-1].output_shape if records else self.bind(values).input_shape
        return tuple(sympy.sympify(v, strict=True) for v in shape)

    def params(self, **values: object) -> sympy.Expr:
        """Learnable parameters of the whole network (for a torch model, those its forward
        uses; the others are listed in `unused_parameters`)."""
        return sympy.sympify(sum((r.params for r in self.records(**values)), 0), strict=True)

    def evaluator(self) -> Evaluator:
        """The network compiled for fast exact numeric evaluation (see symconv.evaluate):
        `network.evaluator()(W=224)` gives one record of Python ints per layer."""
        from symconv.evaluate import compile_network

        return compile_network(self)

    def totals(self, **values: object) -> dict[str, sympy.Expr]:
        """Sums over the layers: params, neurons, connections, macs."""
        records = self.records(**values)
        return {
            name: sympy.sympify(sum((getattr(r, name) for r in records), 0), strict=True)
            for name in ("params", "neurons", "connections", "macs")
        }

    # ---------------------------------------------------------- Jupyter: the table as math

    def _repr_markdown_(self) -> str:
        from symconv.render.table import table_markdown

        return table_markdown(self, self.table())

    def _repr_latex_(self) -> str:
        from symconv.render.latex import table_math

        return table_math(self, self.table())

    def draw(self, layer: object = None, unit: object = None, *, layers: object = None,
             animate: bool = False, **values: object) -> Drawing:
        """Dumoulin & Visin's figure of layer `layer` (its window at output unit `unit`, one
        index per spatial axis, default 0), or with layers=(first, last) Araujo et al.'s
        receptive field of that unit of `last` through the layers: an object with .svg(),
        .tikz() and .json() that Jupyter shows as SVG (see symconv.render.figure)."""
        from symconv.figures import figure_of
        from symconv.render.figure import Drawing

        figure = figure_of(self.records(**values), layer, unit, layers)
        return Drawing(figure, animate, every_unit=unit is None)

    def to_torch_code(self, name: str = "net", **values: object) -> str:
        """Python source of an equivalent nn.Sequential (see symconv.interop.torch_code)."""
        from symconv.interop.torch_code import to_torch_code

        return to_torch_code(self, name, **values)


def parse(text: str, input_shape: Shape | str | None = None) -> Network:
    """The network a description declares; `input_shape` (e.g. "3x224x224") replaces any
    input line, and is required when the description has none."""
    if not isinstance(text, str):
        raise InvalidValueError(f"parse: the description must be text, got "
                                f"{type(text).__name__}")
    given = None if input_shape is None else shape_of(input_shape)
    built = build(parse_statements(text), given)
    if built.input_shape is None:
        raise ShapeError(
            "no input shape: start with a line such as 'input 3 x 224 x 224' or give --input"
        )
    if not built.layers:
        raise ShapeError("the description has no layers", built.input_source)
    return Network(built.input_shape, built.layers, built.input_source)


def as_network(network: object, who: str) -> Network:
    """The network a public function was given: a Network, or its description as text."""
    if isinstance(network, Network):
        return network
    if isinstance(network, str):
        return parse(network)
    raise InvalidValueError(f"{who}: expected a Network (from symconv.parse) or a "
                            f"description as text, got {type(network).__name__}")


def shape_of(given: object) -> Shape:
    """An input shape given to parse: text such as "3x224x224" or a tuple of values."""
    if isinstance(given, str):
        try:
            shape = parse_shape(given)
            no_words(shape, None)
            return shape
        except SymconvError as error:
            raise InvalidValueError(f"input_shape: cannot read '{given[:60]}' as a shape such as "
                                    f"3x224x224: {error.message}") from None
    if not isinstance(given, tuple | list) or not given:
        raise InvalidValueError(f"input_shape: expected a shape such as (3, 224, 224) or "
                                f"'3x224x224', got {describe(given)}")
    return tuple(value_of(f"input_shape[{i}]", v) for i, v in enumerate(given))


def _naming(error: SymconvError, values: Mapping[str, object], where: object,
            source: Source | None) -> SymconvError:
    """The error with the symbols given values that the failing layer (or input) contains,
    as `(K = 0)`: the rule is the literal's, the message says which value broke it."""
    names: set[str] = set()
    _collect_names(where, names)
    given = [f"{name} = {text_value(value_of(name, values[name]))}"
             for name in sorted(names & set(values))]
    note = f" ({', '.join(given)})" if given else ""
    return type(error)(error.message + note, error.source or source, error.layer)


def _layer_at(layers: Sequence[Layer], source: Source | None) -> Layer | None:
    """The layer written at `source` (blocks searched too), or None."""
    if source is None:
        return None
    for layer in layers:
        if layer.source is source or (isinstance(layer.source, LayerSource)
                                      and layer.source.holds(source)):
            return layer
        inner = [getattr(layer, name, ()) for name in ("body", "shortcut")]
        inner += list(getattr(layer, "branches", ()))
        for body in inner:
            if (found := _layer_at(body, source)) is not None:
                return found
    return None


def _whole_symbols(values: Mapping[str, object]) -> None:
    """Every symbol is a whole number: a value such as 3/2 that no layer refused (it only
    appears in 2*K, say) is refused here, since the formulas assume whole symbols."""
    for name, given in values.items():
        value = value_of(name, given)
        if truth(whole(value)) is False:
            raise InvalidValueError(f"{name} = {text_value(value)}: every symbol stands for a "
                                    f"whole number")


def _collect_names(obj: Any, names: set[str]) -> None:
    if isinstance(obj, sympy.Basic):
        names |= free_names(obj)
    elif isinstance(obj, tuple):
        for item in obj:
            _collect_names(item, names)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type | Source):
        for f in dataclasses.fields(obj):
            _collect_names(getattr(obj, f.name), names)


def _substitute(obj: Any, subs: Mapping[sympy.Symbol, sympy.Expr]) -> Any:
    """A copy of obj (layers, windows, tuples) with every symbolic value substituted."""
    if isinstance(obj, sympy.Basic):
        if not obj.free_symbols:
            return obj
        value = obj.xreplace(subs)
        if (why := high_degree(value)) is not None:
            raise InvalidValueError(f"with the values given, {why}")
        return as_value(value)
    if isinstance(obj, tuple):
        return tuple(_substitute(item, subs) for item in obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type | Source):
        changes = {
            f.name: _substitute(getattr(obj, f.name), subs)
            for f in dataclasses.fields(obj)
            if f.name not in ("source", "input_source")
        }
        return dataclasses.replace(obj, **changes)
    return obj


def _public(record: Record) -> LayerRecord:
    def s(v: Value) -> sympy.Expr:
        return sympy.sympify(v, strict=True)

    return LayerRecord(
        record.index,
        record.kind,
        tuple(s(v) for v in record.output_shape),
        s(record.params),
        s(record.neurons),
        s(record.connections),
        s(record.macs),
        tuple(s(v) for v in record.input_shape),
        tuple(s(v) for v in record.receptive_field),
        tuple(None if v is None else s(v) for v in record.jump),
        tuple(s(v) for v in record.start),
        tuple(_public(child) for child in record.children),
        record.path,
        record.aligned,
        record.condition,
        shared_of(record.layer),
    )
