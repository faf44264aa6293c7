"""A layer's arguments as written -> typed values, by the parameter table (catalog.py).

Positional and keyword arguments are matched to parameter names, then each is read as its
kind requires (a size, per-axis sizes broadcast to the spatial axes, a padding word, a flag,
a rate), with an error pointing at the argument where it does not fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy

from symconv.algebra.symbols import Value
from symconv.errors import InvalidLayerError, Source, UnknownNameError, did_you_mean
from symconv.language.catalog import PADDING_MODES, REQUIRED, UPSAMPLE_MODES, Kind, Spec
from symconv.language.parse import Arg, Keyword, RawLayer, RawValue

SAME = "same"


@dataclass(frozen=True, slots=True)
class Written:
    value: RawValue
    source: Source


def bind_arguments(raw: RawLayer, spec: Spec) -> dict[str, Written]:
    """Positional and keyword arguments matched to the spec's parameter names."""
    order = spec.torch_positional if raw.call else spec.positional
    given: dict[str, Written] = {}
    positional: list[Arg] = []
    for arg in raw.args:
        flag = _flag_word(arg.value, spec)
        if flag is not None and not raw.call:
            given[flag] = Written(sympy.true, arg.source)
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
        given[name] = Written(arg.value, arg.source)
    for keyword in raw.keywords:
        _bind_keyword(keyword, spec, given, raw.name)
    return given


def _flag_word(value: RawValue, spec: Spec) -> str | None:
    if isinstance(value, sympy.Symbol) and value.name in spec.flags:
        param = spec.param(value.name)
        return None if param is None else param.name
    return None


def _bind_keyword(keyword: Keyword, spec: Spec, given: dict[str, Written], layer: str) -> None:
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
    given[param.name] = Written(keyword.value, keyword.source)


# ---------------------------------------------------------------- values by kind


class ArgumentReader:
    """Reads the bound arguments of one layer into typed values, with errors in place."""

    def __init__(self, raw: RawLayer, spec: Spec, given: dict[str, Written], rank: int):
        self.raw, self.spec, self.given, self.rank = raw, spec, given, rank

    def _fail(self, name: str, message: str) -> InvalidLayerError:
        where = self.given[name].source if name in self.given else self.raw.source
        return InvalidLayerError(f"{name}: {message}", where, self.raw.name)

    def refuse(self, name: str, message: str) -> InvalidLayerError:
        """The error for an argument that its layer cannot take: at the argument, naming it."""
        return self._fail(name, message)

    def _raw(self, name: str) -> Any:
        param = self.spec.param(name)
        assert param is not None, name
        if name in self.given:
            value = self.given[name].value
            # PyTorch's None for a parameter whose default is None (a pool's stride) is the
            # default itself: nn.MaxPool2d(2, stride=None) strides by its kernel.
            return None if param.default is None and _word(value) == "None" else value
        if param.default is REQUIRED:
            raise InvalidLayerError(f"missing {name}", self.raw.source, self.raw.name)
        return param.default

    def size(self, name: str) -> Value | None:
        value = self._raw(name)
        if value is None or _word(value) == "None":
            param = self.spec.param(name)
            if param is not None and param.default is None:  # None: found from the input
                return None
            raise self._fail(name, f"expected {Kind.SIZE.value}, got None")
        if isinstance(value, (int, sympy.Expr)) and not isinstance(value, sympy.Symbol | bool):
            return whole_value(value)
        if isinstance(value, sympy.Symbol) and value.name not in _WORDS:
            return value
        raise self._fail(name, f"expected {Kind.SIZE.value}, got {show_value(value)}")

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
                out.append(whole_value(item))
            else:
                raise self._fail(name, f"expected {Kind.AXES.value}, got {show_value(item)}")
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

    def padding_mode(self) -> str:
        """What fills the padding, one of the words its kind takes (PyTorch's modes; a
        transposed convolution takes 'zeros' only, as PyTorch's does)."""
        param = self.spec.param("padding_mode")
        assert param is not None
        value, modes = self._raw("padding_mode"), PADDING_MODES[param.kind]
        word = _word(value)
        if word in modes:
            return word
        if word is None:
            raise self._fail("padding_mode", f"expected {param.kind.value}, got "
                             f"{show_value(value)}")
        if word in PADDING_MODES[Kind.PADDING_MODE]:
            raise self._fail("padding_mode", f"takes {param.kind.value}, not '{word}'")
        where = self.given["padding_mode"].source
        hint = did_you_mean(word, PADDING_MODES[Kind.PADDING_MODE])
        raise UnknownNameError(f"padding_mode: unknown mode '{word}' (it takes "
                               f"{param.kind.value}){hint}", where, self.raw.name)

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
        raise self._fail(name, f"expected {Kind.FLAG.value}, got {show_value(value)}")

    def rate(self, name: str) -> sympy.Rational:
        value = self._raw(name)
        # A rate is a number as written (0.5, 1/2); text such as '0.5' is refused, as PyTorch
        # refuses it, and is never read as an expression.
        number = sympy.nsimplify(value) if isinstance(value, float) else value
        if not (isinstance(number, sympy.Rational | int) and not isinstance(number, bool)
                and 0 <= number <= 1):
            raise self._fail(name, f"expected {Kind.RATE.value}, got {show_value(value)}")
        return sympy.Rational(number)

    def shape(self, name: str) -> tuple[Value, ...]:
        """A size, or a tuple of sizes (LayerNorm's normalized_shape)."""
        value = self._raw(name)
        items = value if isinstance(value, tuple) else (value,)
        out = []
        for item in items:
            if (isinstance(item, sympy.Symbol) and item.name in _WORDS) or not isinstance(
                    item, int | sympy.Expr) or isinstance(item, bool):
                raise self._fail(name, f"expected {Kind.SHAPE.value}, got {show_value(value)}")
            out.append(whole_value(item))
        if not out:
            raise self._fail(name, f"expected {Kind.SHAPE.value}, got ()")
        return tuple(out)

    def pad_amounts(self, name: str) -> tuple[tuple[Value, Value], ...]:
        """(before, after) per spatial axis, the first axis first, from one amount for every
        side or PyTorch's tuple (left, right, top, bottom, front, back: the last axis
        first). Negative amounts crop, as in PyTorch."""
        value = self._raw(name)
        items = value if isinstance(value, tuple) else (value,) * (2 * self.rank)
        if len(items) != 2 * self.rank:
            raise self._fail(name, f"{len(items)} values for {self.rank} spatial "
                             f"ax{'i' if self.rank == 1 else 'e'}s (PyTorch takes one, or "
                             f"two per axis: {2 * self.rank})")
        amounts = []
        for item in items:
            if (isinstance(item, sympy.Symbol) and item.name in _WORDS) or not isinstance(
                    item, int | sympy.Expr) or isinstance(item, bool):
                raise self._fail(name, f"expected {Kind.PAD.value}, got {show_value(item)}")
            amounts.append(whole_value(item))
        pairs = [(amounts[i], amounts[i + 1]) for i in range(0, len(amounts), 2)]
        return tuple(reversed(pairs))

    def number(self, name: str) -> Value:
        """A number as written (0, 0.5, -1): an exact Rational."""
        value = self._raw(name)
        number = sympy.nsimplify(value) if isinstance(value, float) else value
        if isinstance(number, bool) or not isinstance(number, int | sympy.Rational):
            raise self._fail(name, f"expected {Kind.NUMBER.value}, got {show_value(value)}")
        return whole_value(sympy.Rational(number))

    def scale(self, name: str) -> tuple[Value, ...] | None:
        """Per axis, a positive number (2, 1.5 read as 3/2) or a symbol; None if not given."""
        value = self._raw(name)
        if value is None or _word(value) == "None":
            return None
        items = value if isinstance(value, tuple) else (value,) * self.rank
        if len(items) != self.rank:
            raise self._fail(name, f"{len(items)} values for {self.rank} spatial "
                             f"ax{'i' if self.rank == 1 else 'e'}s")
        out = []
        for item in items:
            if isinstance(item, float):
                item = sympy.Rational(item)  # the double PyTorch would use, exactly
            if (isinstance(item, bool) or not isinstance(item, int | sympy.Expr)
                    or (isinstance(item, sympy.Symbol) and item.name in _WORDS)
                    or sympy.sympify(item, strict=True).is_positive is False):
                raise self._fail(name, f"expected {Kind.SCALE.value}, got {show_value(item)}")
            out.append(whole_value(item))
        return tuple(out)

    def mode(self, name: str) -> str:
        value = self._raw(name)
        word = _word(value)
        if word in UPSAMPLE_MODES:
            return word
        hint = did_you_mean(word, UPSAMPLE_MODES) if word else ""
        raise self._fail(name, f"expected {Kind.MODE.value}, got {show_value(value)}{hint}")

    def optional_flag(self, name: str) -> bool | None:
        value = self._raw(name)
        if value is None or _word(value) == "None":
            return None
        return self.flag(name)

    def dim(self, name: str) -> int:
        value = self._raw(name)
        if isinstance(value, int):
            return value
        raise self._fail(name, f"expected {Kind.DIM.value}, got {show_value(value)}")


_WORDS = {"same", "valid", "true", "false", "True", "False", "None", "ceil"}


def _word(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, sympy.Symbol):
        return value.name
    return None


def show_value(value: Any) -> str:
    """An argument as an error message quotes it."""
    if isinstance(value, RawLayer):
        return f"a layer ({value.name})"
    if isinstance(value, str):
        return f"'{value}'"
    return str(value)


def whole_value(value: int | sympy.Expr) -> Value:
    """The value as an int where it is an integer number, else as it is: whether a size is
    whole is one rule, checked where layers are traced (trace.check_size), for a number
    written here and for a value given later for a symbol alike."""
    if isinstance(value, int):
        return value
    return int(value) if value.is_Integer else value
