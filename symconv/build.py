"""Statements -> layers: names and arguments resolved with the parameter table (catalog.py).

The builder walks the statements once, knowing the number of spatial axes from the input,
so scalars broadcast to every axis and PyTorch names (Conv2d) are checked against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sympy

from symconv import catalog
from symconv.catalog import REQUIRED, Entry, Family, Kind, Spec
from symconv.errors import (
    InvalidLayerError,
    ShapeError,
    Source,
    UnknownNameError,
    UnsupportedError,
    did_you_mean,
)
from symconv.layers import (
    Activation,
    AdaptivePool,
    BatchNorm,
    Concat,
    Conv,
    ConvTranspose,
    Dropout,
    Flatten,
    Layer,
    Linear,
    Pool,
    PoolOp,
    Repeat,
    Residual,
    Window,
)
from symconv.parse import Arg, InputDecl, Keyword, RawBlock, RawLayer, RawValue, Statement
from symconv.symbols import Value, truth

SAME = "same"


@dataclass(frozen=True, slots=True)
class Built:
    """What a description declares: the input shape (if any) and the layers in order."""

    input_shape: tuple[Value, ...] | None
    input_source: Source | None
    layers: tuple[Layer, ...]


def build(statements: Sequence[Statement], input_shape: tuple[Value, ...] | None = None) -> Built:
    """Resolve statements into layers; `input_shape` (from --input) replaces an input line."""
    builder = _Builder(input_shape)
    for statement in statements:
        builder.statement(statement)
    return Built(builder.input_shape, builder.input_source, tuple(builder.layers))


class _Builder:
    def __init__(self, input_shape: tuple[Value, ...] | None):
        self.input_shape = input_shape
        self.given_input = input_shape is not None
        self.input_source: Source | None = None
        self.layers: list[Layer] = []
        self.rank: int | None = None if input_shape is None else len(input_shape) - 1

    def statement(self, statement: Statement) -> None:
        match statement:
            case InputDecl(shape=shape, source=source):
                self._input(shape, source)
            case RawLayer():
                self._layer(statement)
            case RawBlock():
                self.layers.append(self._block(statement))

    def _input(self, shape: tuple[Value, ...], source: Source) -> None:
        if self.layers:
            raise ShapeError("the input must be declared before the first layer", source)
        if self.input_source is not None:
            raise ShapeError(
                f"a second input declaration (the first is on line {self.input_source.line})",
                source,
            )
        self.input_source = source
        if not self.given_input:  # --input wins over the description's own line
            self.input_shape = shape
            self.rank = len(shape) - 1

    def _layer(self, raw: RawLayer) -> None:
        entry = _lookup(raw)
        if entry is None:  # a container: nn.Sequential(a, b, ...)
            for arg in raw.args:
                if not isinstance(arg.value, RawLayer):
                    raise InvalidLayerError(
                        "nn.Sequential takes layers, such as nn.ReLU()", arg.source, raw.name
                    )
                self._layer(arg.value)
            return
        if self.rank is None:
            raise ShapeError(
                "no input shape: start with a line such as 'input 3 x 224 x 224' "
                "or give --input",
                raw.source,
                raw.name,
            )
        values = _bind_arguments(raw, entry.spec)
        layer = _make(entry, values, self.rank, raw)
        self.layers.append(layer)
        if isinstance(layer, Flatten):
            self.rank = 0


    # ---------------------------------------------------------- blocks

    def _block(self, raw: RawBlock) -> Layer:
        """repeat N { ... }, residual { ... } [shortcut] { ... }, concat { ... } { ... }."""
        if self.rank is None:
            raise ShapeError("no input shape: start with a line such as 'input 3 x 224 x 224' "
                             "or give --input", raw.source, raw.name)
        rank, shape = self.rank, _BLOCKS.get(raw.name)
        if shape is None:
            raise UnknownNameError(
                f"unknown block '{raw.name}'{did_you_mean(raw.name, list(_BLOCKS))}; "
                "the blocks are " + ", ".join(_BLOCKS.values()), raw.source, raw.name)
        low, high = (1, 1) if raw.name == "repeat" else (1, 2) if raw.name == "residual" else (
            2, None)
        if (raw.argument is None) != (raw.name != "repeat") or not (
            low <= len(raw.bodies) and (high is None or len(raw.bodies) <= high)
        ):
            raise InvalidLayerError(f"a {raw.name} block is written {shape}", raw.source,
                                    raw.name)
        bodies = [self._body(statements, raw) for statements in raw.bodies]
        ranks = {r for _, r in bodies}
        if len(ranks) > 1 or (raw.name == "repeat" and ranks != {rank}):
            raise ShapeError(
                f"the paths of a {raw.name} block must keep the same number of spatial axes "
                f"(here {', '.join(str(r) for _, r in bodies)}; the input has {rank})",
                raw.source, raw.name)
        self.rank = bodies[0][1]
        if raw.name == "repeat":
            assert raw.argument is not None
            given = raw.argument.value

            def not_count() -> InvalidLayerError:
                return InvalidLayerError(
                    f"the count of repeat must be a whole number (at least 1) or a symbol, got "
                    f"{_show(given)}", raw.source, raw.name)

            if not isinstance(given, int | sympy.Expr):
                raise not_count()
            count = _integer(given, not_count)
            if truth(sympy.sympify(count) >= 1) is False:
                raise not_count()
            return Repeat(count, bodies[0][0], raw.source)
        if raw.name == "residual":
            shortcut = bodies[1][0] if len(bodies) == 2 else ()
            return Residual(bodies[0][0], shortcut, raw.source)
        return Concat(tuple(body for body, _ in bodies), raw.source)

    def _body(
        self, statements: Sequence[Statement], raw: RawBlock
    ) -> tuple[tuple[Layer, ...], int]:
        """The layers of one body and the number of spatial axes after it."""
        inner = _Builder(None)
        inner.rank = self.rank
        for statement in statements:
            if isinstance(statement, InputDecl):
                raise ShapeError("an input declaration cannot stand inside a block",
                                 statement.source, raw.name)
            inner.statement(statement)
        if not inner.layers:
            raise InvalidLayerError(f"a body of {raw.name} has no layers", raw.source, raw.name)
        assert inner.rank is not None
        return tuple(inner.layers), inner.rank


_BLOCKS = {
    "repeat": "repeat N { ... }",
    "residual": "residual { ... } with an optional shortcut { ... }",
    "concat": "concat { ... } { ... } with two or more branches",
}


def _strip_prefix(name: str) -> str:
    for prefix in catalog.TORCH_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def _lookup(raw: RawLayer) -> Entry | None:
    """The table entry for a layer name; None for a container; an error with a suggestion."""
    name = _strip_prefix(raw.name) if raw.call else raw.name
    if name in catalog.CONTAINERS:
        return None
    entry = catalog.DSL_NAMES.get(name) or catalog.TORCH_NAMES.get(name)
    if entry is None and raw.call:
        entry = catalog.DSL_NAMES.get(name.lower())
    if entry is not None:
        return entry
    known = [*catalog.DSL_NAMES, *(f"nn.{n}" for n in catalog.TORCH_NAMES)]
    raise UnknownNameError(
        f"unknown layer '{raw.name}'{did_you_mean(raw.name, known)}", raw.source, raw.name
    )


@dataclass(frozen=True, slots=True)
class _Given:
    value: RawValue
    source: Source


def _bind_arguments(raw: RawLayer, spec: Spec) -> dict[str, _Given]:
    """Positional and keyword arguments matched to the spec's parameter names."""
    order = spec.torch_positional if raw.call else spec.positional
    given: dict[str, _Given] = {}
    positional: list[Arg] = []
    for arg in raw.args:
        flag = _flag_word(arg.value, spec)
        if flag is not None and not raw.call:
            given[flag] = _Given(sympy.true, arg.source)
        else:
            positional.append(arg)
    if len(positional) > len(order):
        extra = positional[len(order)]
        takes = ", ".join(order) if order else "no values without a name"
        raise InvalidLayerError(
            f"too many values: {raw.name} takes {takes}; name the others, as in k=3",
            extra.source,
            raw.name,
        )
    for name, arg in zip(order, positional, strict=False):
        given[name] = _Given(arg.value, arg.source)
    for keyword in raw.keywords:
        _bind_keyword(keyword, spec, given, raw.name)
    return given


def _flag_word(value: RawValue, spec: Spec) -> str | None:
    if isinstance(value, sympy.Symbol) and value.name in spec.flags:
        param = spec.param(value.name)
        return None if param is None else param.name
    return None


def _bind_keyword(keyword: Keyword, spec: Spec, given: dict[str, _Given], layer: str) -> None:
    param = spec.param(keyword.name)
    if param is None:
        hint = did_you_mean(keyword.name, spec.spellings())
        raise UnknownNameError(
            f"unknown parameter '{keyword.name}' for {layer}{hint}", keyword.source, layer
        )
    if param.name in given:
        raise InvalidLayerError(
            f"'{param.name}' is given twice", keyword.source, layer
        )
    given[param.name] = _Given(keyword.value, keyword.source)


# ---------------------------------------------------------------- values by kind


class _Reader:
    """Reads the bound arguments of one layer into typed values, with errors in place."""

    def __init__(self, raw: RawLayer, spec: Spec, given: dict[str, _Given], rank: int):
        self.raw, self.spec, self.given, self.rank = raw, spec, given, rank

    def _fail(self, name: str, message: str) -> InvalidLayerError:
        where = self.given[name].source if name in self.given else self.raw.source
        return InvalidLayerError(f"{name}: {message}", where, self.raw.name)

    def _raw(self, name: str) -> Any:
        param = self.spec.param(name)
        assert param is not None, name
        if name in self.given:
            return self.given[name].value
        if param.default is REQUIRED:
            raise InvalidLayerError(f"missing {name}", self.raw.source, self.raw.name)
        return param.default

    def size(self, name: str) -> Value | None:
        value = self._raw(name)
        if value is None or _word(value) == "None":
            return None
        if isinstance(value, (int, sympy.Expr)) and not isinstance(value, sympy.Symbol | bool):
            return _integer(value, lambda: self._fail(name, f"{value} is not an integer"))
        if isinstance(value, sympy.Symbol) and value.name not in _WORDS:
            return value
        raise self._fail(name, f"expected {Kind.SIZE.value}, got {_show(value)}")

    def axes(self, name: str, allow_none: bool = False) -> tuple[Any, ...]:
        value = self._raw(name)
        items = value if isinstance(value, tuple) else (value,) * max(self.rank, 1)
        if len(items) != self.rank:
            raise self._fail(
                name,
                f"{len(items)} values for {self.rank} spatial "
                f"ax{'i' if self.rank == 1 else 'e'}s",
            )
        out: list[Value | None] = []
        for item in items:
            if item is None or (allow_none and _word(item) == "None"):
                out.append(None)
            elif isinstance(item, sympy.Symbol) and item.name in _WORDS:
                raise self._fail(name, f"expected a size, got {item.name}")
            elif isinstance(item, (int, sympy.Expr)):
                out.append(_integer(item, lambda i=item: self._fail(name, f"{i} is not whole")))
            else:
                raise self._fail(name, f"expected {Kind.AXES.value}, got {_show(item)}")
        return tuple(out)

    def padding(self) -> tuple[tuple[Value, ...], bool]:
        value = self._raw("padding")
        word = _word(value)
        if word == SAME:
            return (0,) * self.rank, True
        if word == "valid":
            return (0,) * self.rank, False
        if isinstance(value, str):
            raise self._fail("padding", f"expected {Kind.PADDING.value}, got '{value}'")
        if word is not None and len(word) > 2 and (hint := did_you_mean(word, (SAME, "valid"))):
            # p=smae is a typo, not a symbol called smae
            where = self.given["padding"].source if "padding" in self.given else self.raw.source
            raise UnknownNameError(f"padding: unknown word '{word}'{hint}", where, self.raw.name)
        return self.axes("padding"), False

    def flag(self, name: str) -> bool:
        value = self._raw(name)
        if isinstance(value, bool):
            return value
        if value is sympy.true or _word(value) in ("true", "True"):
            return True
        if value is sympy.false or _word(value) in ("false", "False"):
            return False
        if value in (0, 1):
            return bool(value)
        raise self._fail(name, f"expected {Kind.FLAG.value}, got {_show(value)}")

    def rate(self, name: str) -> sympy.Rational:
        value = self._raw(name)
        number = sympy.nsimplify(value) if isinstance(value, float) else sympy.sympify(value)
        if not (isinstance(number, sympy.Rational) and 0 <= number <= 1):
            raise self._fail(name, f"expected {Kind.RATE.value}, got {_show(value)}")
        return number

    def dim(self, name: str) -> int:
        value = self._raw(name)
        if isinstance(value, int):
            return value
        raise self._fail(name, f"expected {Kind.DIM.value}, got {_show(value)}")


_WORDS = {"same", "valid", "true", "false", "True", "False", "None", "ceil"}


def _word(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, sympy.Symbol):
        return value.name
    return None


def _show(value: Any) -> str:
    if isinstance(value, RawLayer):
        return f"a layer ({value.name})"
    if isinstance(value, str):
        return f"'{value}'"
    return str(value)


def _integer(value: Any, fail: Any) -> Value:
    if isinstance(value, int):
        return value
    number = sympy.sympify(value)
    if number.is_Integer:
        return int(number)
    if number.is_number or number.is_integer is False:
        raise fail()
    return number


def _make(entry: Entry, given: dict[str, _Given], rank: int, raw: RawLayer) -> Layer:
    """The layer object for one resolved statement."""
    spec, source = entry.spec, raw.source
    if entry.rank is not None and entry.spec.family is not Family.DROPOUT:
        allowed = {entry.rank, 0} if spec.family is Family.BATCH_NORM and entry.rank == 1 else {
            entry.rank
        }
        if rank not in allowed:
            raise ShapeError(
                f"{raw.name} needs an input with {entry.rank} spatial "
                f"ax{'i' if entry.rank == 1 else 'e'}s, but here it has {rank}",
                source,
                raw.name,
            )
    read = _Reader(raw, spec, given, rank)
    family = spec.family
    windowed = (Family.CONV, Family.CONV_TRANSPOSE, Family.MAX_POOL, Family.AVG_POOL)
    if family in windowed and rank == 0:
        raise ShapeError(
            f"{raw.name} needs spatial axes, but its input is flat (after flatten)",
            source,
            raw.name,
        )
    if family is Family.CONV:
        padding, same = read.padding()
        window = Window(read.axes("kernel_size"), read.axes("stride"), padding,
                        read.axes("dilation"), same)
        return Conv(_required(read.size("out_channels")), window, _required(read.size("groups")),
                    read.flag("bias"), read.size("in_channels"), source)
    if family is Family.CONV_TRANSPOSE:
        window = Window(read.axes("kernel_size"), read.axes("stride"), read.axes("padding"),
                        read.axes("dilation"))
        return ConvTranspose(_required(read.size("out_channels")), window,
                             read.axes("output_padding"), _required(read.size("groups")),
                             read.flag("bias"), read.size("in_channels"), source)
    if family in (Family.MAX_POOL, Family.AVG_POOL):
        kernel = read.axes("kernel_size")
        stride = kernel if read._raw("stride") is None else read.axes("stride")
        dilation = read.axes("dilation") if family is Family.MAX_POOL else (1,) * rank
        window = Window(kernel, stride, read.axes("padding"), dilation)
        op = PoolOp.MAX if family is Family.MAX_POOL else PoolOp.AVG
        return Pool(op, window, read.flag("ceil_mode"), source)
    if family in (Family.ADAPTIVE_MAX_POOL, Family.ADAPTIVE_AVG_POOL):
        if rank == 0:
            raise ShapeError(f"{raw.name} needs spatial axes", source, raw.name)
        op = PoolOp.MAX if family is Family.ADAPTIVE_MAX_POOL else PoolOp.AVG
        return AdaptivePool(op, read.axes("output_size", allow_none=True), source)
    if family is Family.FLATTEN:
        start, end = read.dim("start_dim"), read.dim("end_dim")
        if (start, end) != (1, -1):
            raise UnsupportedError(
                "only flatten of every axis but the batch (start_dim=1, end_dim=-1) is modelled",
                source,
                raw.name,
            )
        return Flatten(source)
    if family is Family.LINEAR:
        return Linear(_required(read.size("out_features")), read.flag("bias"),
                      read.size("in_features"), source)
    if family is Family.BATCH_NORM:
        return BatchNorm(max(rank, 1), read.size("num_features"), read.flag("affine"), source)
    if family is Family.DROPOUT:
        return Dropout(read.rate("p"), entry.kind_name, source)
    if family is Family.ACTIVATION:
        return Activation(entry.kind_name, source)
    raise AssertionError(family)


def _required(value: Value | None) -> Value:
    assert value is not None  # REQUIRED parameters never default to None
    return value
