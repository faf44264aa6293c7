"""The network: an input shape and its layers, with the questions users ask of it."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sympy

from symconv.algebra.symbols import Value, truth
from symconv.engine.guards import LayerWarning, layer_warnings
from symconv.engine.joins import data_paths
from symconv.engine.receptive import INPUT, ClosedForm, Field
from symconv.engine.receptive import closed_forms as receptive_closed_forms
from symconv.engine.records import Record, checked_unit
from symconv.engine.statistics import Memory, columns, memory_of
from symconv.engine.substitute import collect_names, substitute
from symconv.engine.trace import check_input, trace, whole
from symconv.errors import (
    InvalidValueError,
    LayerSource,
    ShapeError,
    Source,
    SymconvError,
    UnknownNameError,
    UnsupportedError,
    did_you_mean,
)
from symconv.language.build import build, convention_named, no_words
from symconv.language.layers import Bind, Convention, Layer, Shared, shared_of
from symconv.language.parse import parse_shape, parse_statements
from symconv.language.values import describe, substitution, value_of, whole_number
from symconv.present.values import text_value

if TYPE_CHECKING:
    from symconv.numeric.evaluate import Evaluator
    from symconv.numeric.fast import FastRow
    from symconv.render.figure import Drawing
    from symconv.render.table_object import Table

Shape = tuple[Value, ...]
_REPR_KINDS = 6  # the layers a Network's repr names before it says "…"


@dataclass(frozen=True, init=False)
class LayerRecord:
    """One row of `Network.table()`: SymPy objects throughout.

    A loop over sizes makes many tables and reads a few of their values: a record holds its
    values as given (in one tuple, `_values`, in the order of the fields below), and a whole
    number given as a Python int is read as a SymPy Integer (see _READ_AS_SYMPY after the
    class)."""

    __slots__ = ("_values",)

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
    # What a torchinfo summary shows (symconv.statistics): the module's name in a torch model
    # and its depth (a description's rows: 1 at the top, 2 inside a block, ...), the weight's
    # shape, the parameters that train and those that do not, and the bytes of the
    # parameters and of the forward pass's activations for the dtype and batch asked for.
    name: str = ""
    depth: int = 1
    kernel_shape: tuple[sympy.Expr, ...] = ()
    trainable: sympy.Expr = sympy.S.Zero
    non_trainable: sympy.Expr = sympy.S.Zero
    param_bytes: sympy.Expr = sympy.S.Zero
    activation_bytes: sympy.Expr = sympy.S.Zero
    # Pixels discarded at the border, skipped between windows, an output that depends on the
    # input's parity (symconv.guards).
    warnings: tuple[LayerWarning, ...] = ()

    def __init__(self, index: int, kind: str, output_shape: tuple[Value, ...], params: Value,
                 neurons: Value, connections: Value, macs: Value,
                 input_shape: tuple[Value, ...] = (), receptive_field: tuple[Value, ...] = (),
                 jump: tuple[Value | None, ...] = (), start: tuple[Value, ...] = (),
                 children: tuple[LayerRecord, ...] = (), path: int = 0, aligned: Any = None,
                 condition: Any = None, shared: Shared | None = None, name: str = "",
                 depth: int = 1, kernel_shape: tuple[Value, ...] = (), trainable: Value = 0,
                 non_trainable: Value = 0, param_bytes: Value = 0, activation_bytes: Value = 0,
                 warnings: tuple[LayerWarning, ...] = ()) -> None:
        object.__setattr__(self, "_values", (
            index, kind, output_shape, params, neurons, connections, macs, input_shape,
            receptive_field, jump, start, children, path, aligned, condition, shared, name,
            depth, kernel_shape, trainable, non_trainable, param_bytes, activation_bytes,
            warnings))

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:  # pickle and copy: the values
        return LayerRecord, self._values  # type: ignore[attr-defined]  # (the slot)


# SymPy values for table rows: a row of numbers repeats few distinct values and shapes (a
# cache hit costs a tenth of building one).
_integer = functools.lru_cache(maxsize=1 << 12)(sympy.Integer)


def _sympy(v: Any) -> Any:
    """A value as LayerRecord gives it: a SymPy object (None, a jump after flatten, kept)."""
    if type(v) is int:
        return _integer(v)
    return v if v is None or isinstance(v, sympy.Basic) else sympy.sympify(v, strict=True)


def _sympy_shape(shape: Any) -> Any:
    """A shape (a tuple of values) as LayerRecord gives it: a tuple of SymPy objects."""
    if type(shape) is not tuple:
        return shape  # (as given)
    try:
        return _sympy_tuple(shape)
    except TypeError:  # a value that cannot be hashed
        return tuple(map(_sympy, shape))


@functools.lru_cache(maxsize=1 << 12)
def _sympy_tuple(shape: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(map(_sympy, shape))


def _read(position: int, convert: Callable[[Any], Any] | None) -> property:
    if convert is None:
        return property(lambda record: record._values[position])
    return property(lambda record: convert(record._values[position]))


# How each field is read from `_values`: values and shapes as SymPy objects, the rest as given.
_READ_AS_SYMPY: dict[str, Callable[[Any], Any]] = {
    **dict.fromkeys(("params", "neurons", "connections", "macs", "trainable", "non_trainable",
                     "param_bytes", "activation_bytes"), _sympy),
    **dict.fromkeys(("output_shape", "input_shape", "receptive_field", "jump", "start",
                     "kernel_shape"), _sympy_shape),
}
for _position, _field in enumerate(dataclasses.fields(LayerRecord)):
    setattr(LayerRecord, _field.name, _read(_position, _READ_AS_SYMPY.get(_field.name)))


@dataclass(frozen=True, slots=True)
class Unused:
    """Parameters a torch model holds but its forward never uses (from_torch): a module that
    is never called (`module`), or a tensor of one (not `module`); counted in no total."""

    path: str  # as model.named_modules() / named_parameters() name it
    params: int
    module: bool = True


class _FastCache(dict[str, Any]):
    """Network._fast: a plain dict that copies and pickles as an empty one (compiled code
    is neither copied nor pickled; it is built again on demand)."""

    def __reduce__(self) -> tuple[type, tuple[()]]:
        return _FastCache, ()

    def __copy__(self) -> _FastCache:
        return _FastCache()

    def __deepcopy__(self, memo: object) -> _FastCache:
        return _FastCache()


@dataclass(frozen=True, slots=True, repr=False)
class Network:
    """An input shape and its layers (from `symconv.parse` or `symconv.from_torch`).

    Prints as the per-layer table (`print(net)`, as `symconv table` prints it); its repr is
    one line; Jupyter shows the table as math (`_repr_markdown_`, `_repr_latex_`)."""

    input_shape: Shape
    layers: tuple[Layer, ...]
    input_source: Source | None = field(default=None, compare=False)
    # from_torch: what model.parameters() holds beyond the layers' parameters. Not part of
    # the network's arithmetic (so not compared), but said wherever totals are shown.
    unused_parameters: tuple[Unused, ...] = field(default=(), compare=False)
    # The input's name, which joins of named tensors read (`input 3 x H x W as x0`; the
    # forward's argument in from_torch). A name a join reads that no Bind before it binds is
    # the input: language/names.check_names sees to that where a network is built.
    input_name: str = field(default="x", compare=False)
    # A model with several outputs (from_torch: a dict or tuple, e.g. {'out': ..., 'aux': ...}):
    # each output's key and the named tensor it is. The first is the last layer's output,
    # which output_shape() and the table's last row give; () for one output.
    outputs: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    # The compiled evaluator and what numeric calls need besides (symconv.numeric.fast), built on
    # demand; a copy or a pickle of the network starts without it.
    _fast: _FastCache = field(default_factory=lambda: _FastCache(), init=False, repr=False,
                              compare=False)

    # ---------------------------------------------------------- symbols and values

    @property
    def symbols(self) -> tuple[str, ...]:
        """Names of every symbol in the input and the layers, sorted."""
        # a walk over every layer, asked at every table call: done once (a network is frozen)
        symbols = self._fast.get("symbols")
        if symbols is None:
            names: set[str] = set()
            collect_names((self.input_shape, self.layers), names)
            symbols = self._fast["symbols"] = tuple(sorted(names))
        return symbols

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
        return substitute(self, substitution(merged))

    def upto(self, layer: object) -> Network:
        """The input and the layers 1 to `layer`, numbered as `table` and `rf` number them (a
        block is one layer): `symconv.solve(net.upto(8), "W", 7)` asks for layer 8's output.
        The layers after it are left out of every question asked of the result."""
        n = whole_number("layer", layer)
        if not 1 <= n <= len(self.layers):
            raise UnknownNameError(f"no layer {n}: the network has layers 1 to "
                                   f"{len(self.layers)}")
        return dataclasses.replace(self, layers=self.layers[:n], outputs=())

    # ---------------------------------------------------------- answers

    def records(self, **values: object) -> tuple[Record, ...]:
        """Per-layer records with ints where numbers are known (the fast numeric form); a
        number for every symbol takes compiled code (symconv.numeric.fast), with the same answer."""
        from symconv.numeric.fast import fast_records

        return fast_records(self, values) or self.traced_records(**values)

    def traced_records(self, **values: object) -> tuple[Record, ...]:
        """`records` by the trace itself, whatever the values: the reference the compiled
        path is checked against, and the one that words every error."""
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

    def table(self, *, columns: object = None, dtype: object = None, batch: object = None,
              depth: object = None, **values: object) -> Table:
        """One record per layer (after the input), every field a SymPy object: a tuple of
        `LayerRecord`s that prints as the text table and displays in Jupyter (see
        symconv.render.table_object.Table: to_dicts, to_pandas).

        Every form shows `columns`: keys of symconv.render.table.ALL_COLUMNS (a list, or
        text 'params,param_bytes'), 'all', or 'memory' (shape, parameters and memory); by
        default the default columns, or the 'memory' ones when `dtype` or `batch` is given.
        The memory columns count `dtype` (float32 unless given; float16, bfloat16, float64,
        int8) and `batch` examples (1 unless given; a number, or a symbol such as "N": memory
        as a formula in it). With `depth` (1, 2, ...) the rows nest no deeper: each deeper
        row folded into its parent, which sums it, as torchinfo's depth does (for a torch
        model, a row per module whose path has at most `depth` parts; see Table.folded)."""
        from symconv.render.table import MEMORY_SET, column_keys
        from symconv.render.table_object import Table

        keys = column_keys(columns)
        if keys is None and (dtype is not None or batch is not None):
            keys = MEMORY_SET
        memory = memory_of("float32" if dtype is None else dtype, 1 if batch is None else batch,
                           taken=self.symbols)
        from symconv.numeric.fast import fast_layers

        # compiled rows where the call gives a number for every symbol (and the network is
        # compiled), each made into a LayerRecord at once; else the trace's records
        if (rows := fast_layers(self, values)) is not None:
            table = Table((_row(row, memory, 1) if row.block is None
                           else _public(dataclasses.replace(row.block, index=row.index,
                                                            kind=row.kind), memory)
                           for row in rows), self, keys, memory)
        else:
            records = self.traced_records(**values)
            # the network only says its input shape where there is no record to say it
            shown = self.bind(values) if values and not records else self
            table = Table((_public(r, memory) for r in records), shown, keys, memory)
        return table if depth is None else table.folded(depth)

    def receptive_fields(self, **values: object) -> tuple[tuple[Field, ...], ...]:
        """Per layer (after the input, as `table` numbers them), one `Field` per spatial axis
        of the input: `size` (how many input positions one output unit sees), `jump` (the
        input distance between neighbouring units; None after flatten, where every unit sees
        the whole input) and `start` (the centre of unit 0's region)."""
        return tuple(r.fields for r in self.records(**values))

    def closed_forms(self, layer: object = None, **values: object) -> tuple[ClosedForm, ...]:
        """Per spatial axis, the closed forms of the chain up to `layer` (default: the last
        layer with spatial axes; a block counts as one step): receptive field
        1 + Σ (k_l − 1)·Π s_i, effective stride Π s_l and padding Σ p_l·Π s_i, as
        `symconv rf` prints them."""
        records = self.records(**values)
        if layer is None:
            spatial = [r.index for r in records if not any(fd.ended for fd in r.fields)]
            target = spatial[-1] if spatial else 0
        else:
            target = whole_number("layer", layer)
            if not 1 <= target <= len(records):
                raise UnknownNameError(f"closed_forms: no layer {target}: the network has "
                                       f"layers 1 to {len(records)}")
            record = records[target - 1]
            if not record.fields or any(fd.ended for fd in record.fields):
                raise ShapeError(f"closed_forms: layer {target} ({record.kind}) has no spatial "
                                 "axes left; each of its units sees the whole input")
        start = tuple(INPUT for _ in self.input_shape[1:])
        if target == 0:
            return receptive_closed_forms([start])
        return receptive_closed_forms(data_paths(self.layers, records, start)[target - 1])

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
        record = records[layer - 1]
        fields = record.fields
        sizes = record.output_shape[1:]  # after flatten no spatial axes: any index is unit 0
        checked_unit(record, unit, sizes if len(sizes) == len(fields) else
                     tuple(sympy.oo for _ in fields))
        return tuple(
            (sympy.sympify(first, strict=True), sympy.sympify(last, strict=True))
            for first, last in (fd.interval(u) for fd, u in zip(fields, unit, strict=True))
        )

    def output_shape(self, **values: object) -> tuple[Any, ...]:
        """The shape after the last layer (the input's, for a network with no layers): Python
        ints where the call gives a number for every symbol, else SymPy expressions."""
        from symconv.numeric.fast import fast_rows, numeric_args

        if (found := fast_rows(self, values)) is not None:
            return found[1][-1][0]
        records = self.traced_records(**values)  # not compiled yet, or the trace's to answer
        shape = records[-1].output_shape if records else self.bind(values).input_shape
        if numeric_args(self, values) is not None:
            return tuple(int(v) for v in shape)
        return tuple(sympy.sympify(v, strict=True) for v in shape)

    def output_shapes(self, **values: object) -> dict[str, tuple[Any, ...]]:
        """Every output's shape by its key ({'out': ..., 'aux': ...} for a model that returns
        several; {'': output_shape()} for one), as output_shape() gives it."""
        if not self.outputs:
            return {"": self.output_shape(**values)}
        records = self.records(**values)
        shapes = {self.input_name: self.bind(values).input_shape}
        for layer, record in zip(self.layers, records, strict=True):
            if isinstance(layer, Bind):
                shapes[layer.name] = record.output_shape
        numeric = all(isinstance(v, int | sympy.Integer) for s in shapes.values() for v in s)
        return {key: tuple(int(v) if numeric else sympy.sympify(v, strict=True)
                           for v in shapes[name]) for key, name in self.outputs}

    def params(self, **values: object) -> Any:
        """Learnable parameters of the whole network (for a torch model, those its forward
        uses; the others are listed in `unused_parameters`): a Python int where the call
        gives a number for every symbol, else a SymPy expression."""
        from symconv.numeric.fast import fast_rows, numeric_args

        if (found := fast_rows(self, values)) is not None:
            return sum(row[1] for row in found[1])
        total = sum((r.params for r in self.traced_records(**values)), 0)
        if numeric_args(self, values) is not None:
            return int(total)
        return sympy.sympify(total, strict=True)

    def evaluator(self) -> Evaluator:
        """The network compiled for fast exact numeric evaluation (see symconv.numeric.evaluate):
        `network.evaluator()(W=224)` gives one record of Python ints per layer; built once
        and kept on the network (the numeric calls of its methods use the same one)."""
        from symconv.numeric.fast import evaluator_of

        return evaluator_of(self)

    def totals(self, **values: object) -> dict[str, Any]:
        """Sums over the layers: params, neurons, connections, macs (Python ints where the
        call gives a number for every symbol, else SymPy expressions)."""
        from symconv.numeric.fast import fast_rows, numeric_args

        names = ("params", "neurons", "connections", "macs")
        if (found := fast_rows(self, values)) is not None:
            rows = found[1]
            return {name: sum(row[i] for row in rows) for i, name in enumerate(names, start=1)}
        records = self.traced_records(**values)
        sums = {name: sum((getattr(r, name) for r in records), 0) for name in names}
        if numeric_args(self, values) is not None:
            return {name: int(v) for name, v in sums.items()}
        return {name: sympy.sympify(v, strict=True) for name, v in sums.items()}

    # ---------------------------------------------------------- display

    def __str__(self) -> str:
        """The per-layer table, as `symconv table` prints it."""
        return str(self.table())

    def __repr__(self) -> str:
        from symconv.language.layers import kind_of
        from symconv.present.values import text_shape

        kinds = [kind_of(layer) for layer in self.layers]
        listed = ", ".join(kinds[:_REPR_KINDS]) + (", …" if len(kinds) > _REPR_KINDS else "")
        count = f"{len(kinds)} layer{'' if len(kinds) == 1 else 's'}"
        symbols = f"; symbols {', '.join(self.symbols)}" if self.symbols else ""
        return (f"<symconv Network: input {text_shape(self.input_shape)}, {count} "
                f"({listed}){symbols}>")

    # Jupyter: the table as math, a block's rows after it in both forms

    def _repr_markdown_(self) -> str:
        return self.table()._repr_markdown_()

    def _repr_latex_(self) -> str:
        return self.table()._repr_latex_()

    def draw(self, layer: object = None, unit: object = None, *, layers: object = None,
             animate: bool = False, **values: object) -> Drawing:
        """Dumoulin & Visin's figure of layer `layer` (its window at output unit `unit`, one
        index per spatial axis, default 0), or with layers=(first, last) Araujo et al.'s
        receptive field of that unit of `last` through the layers: an object with .svg(),
        .tikz() and .json() that Jupyter shows as SVG (see symconv.render.figure)."""
        from symconv.derive.figures import figure_of
        from symconv.render.figure import Drawing

        figure = figure_of(self.records(**values), layer, unit, layers)
        return Drawing(figure, animate, every_unit=unit is None)

    def to_torch_code(self, name: str = "net", **values: object) -> str:
        """Python source of an equivalent nn.Sequential (see symconv.interop.torch_code)."""
        from symconv.interop.torch_code import to_torch_code

        return to_torch_code(self, name, **values)


def parse(text: str, input_shape: Shape | str | None = None,
          convention: Convention | str | None = None) -> Network:
    """The network a description declares; `input_shape` (e.g. "3x224x224") replaces any
    input line, and is required when the description has none; `convention` ("torch" or
    "tensorflow": whose padding='same') replaces any convention line."""
    if not isinstance(text, str):
        raise InvalidValueError(f"parse: the description must be text, got "
                                f"{type(text).__name__}")
    given = None if input_shape is None else shape_of(input_shape)
    if isinstance(convention, str):
        convention = convention_named(convention)
    elif convention is not None and not isinstance(convention, Convention):
        raise InvalidValueError(f"parse: the convention is 'torch' or 'tensorflow', got "
                                f"{type(convention).__name__}")
    built = build(parse_statements(text), given, convention)
    if built.input_shape is None:
        raise ShapeError(
            "no input shape: start with a line such as 'input 3 x 224 x 224' or give --input"
        )
    if not built.layers:
        raise ShapeError("the description has no layers", built.input_source)
    return Network(built.input_shape, built.layers, built.input_source,
                   input_name=built.input_name)


def closed_forms(network: object, layer: object = None, /, **values: object
                 ) -> tuple[ClosedForm, ...]:
    """Per spatial axis, the receptive field's closed forms: of a Network (up to `layer`,
    see `Network.closed_forms`), or of a chain given as its fields after each step (the
    first entry the input's; symconv.receptive.closed_forms)."""
    if isinstance(network, Network):
        return network.closed_forms(layer, **values)
    if layer is not None or values:
        raise InvalidValueError("closed_forms: a layer and values go with a Network, not with "
                                "a list of receptive fields")
    return receptive_closed_forms(network)  # type: ignore[arg-type]  # it checks the type


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
    collect_names(where, names)
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


def bind_whole(network: Network, values: Mapping[str, object]) -> Network:
    """network.bind(values), refusing a value that is no whole number as `table` does: the
    trace names the layer whose argument it makes a fraction and the rule it breaks, with
    the value given ("kernel_size must be a whole number, got 5/2 (K = 5/2)"); a value that
    every layer uses whole (in 2*K, say) is refused as a symbol's. The solver's entry points
    bind through here, since their own walk computes with such a value without a word."""
    bound = network.bind(values)
    if any(truth(whole(value_of(name, v))) is False for name, v in values.items()):
        # A trace too big for symbolic sizes: the symbol's own rule below says it.
        with contextlib.suppress(UnsupportedError):
            network.traced_records(**values)
        _whole_symbols(values)
    return bound


@functools.lru_cache(maxsize=1 << 10)
def _field_columns(fields: tuple[Field, ...]
                   ) -> tuple[tuple[Value, ...], tuple[Value | None, ...], tuple[Value, ...]]:
    """The receptive field, jump and start of each axis, as LayerRecord holds them (kept:
    a network's rows share a few fields, and the next call has the same ones)."""
    return (tuple(fd.size for fd in fields), tuple(fd.jump for fd in fields),
            tuple(fd.start for fd in fields))


def _public(record: Record, memory: Memory | None = None, depth: int = 1) -> LayerRecord:
    """The record a user reads (SymPy objects when read), with the memory columns for
    `memory` (float32, batch 1 where not given)."""
    memory = memory_of("float32", 1) if memory is None else memory
    children = tuple(_public(child, memory, depth + 1) for child in record.children)
    return _row(record, memory, depth, children, record.path, record.aligned, record.condition,
                record.children)


def _row(r: Record | FastRow, memory: Memory, depth: int, children: tuple[LayerRecord, ...] = (),
         path: int = 0, aligned: Any = None, condition: Any = None,
         inner: tuple[Record, ...] = ()) -> LayerRecord:
    """The row of a trace record, or of a compiled row (symconv.numeric.fast.FastRow), its
    children's rows `children` (made from the records `inner`)."""
    c = columns(r.layer, r.input_shape, r.params, r.neurons, memory, depth, inner)
    return LayerRecord(
        r.index,
        r.kind,
        r.output_shape,
        r.params,
        r.neurons,
        r.connections,
        r.macs,
        r.input_shape,
        *_field_columns(r.fields),
        children,
        path,
        aligned,
        condition,
        shared_of(r.layer),
        c.name,
        c.depth,
        c.kernel_shape,
        c.trainable,
        c.non_trainable,
        c.param_bytes,
        c.activation_bytes,
        layer_warnings(r.layer, r.input_shape, r.output_shape),
    )
