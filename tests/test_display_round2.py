"""Display forms agree and survive: the unit a region or a figure is asked for is one check;
Table, Derivation and Solution pickle and deep-copy to equal objects that print the same."""

from __future__ import annotations

import pytest

import symconv

NET = symconv.parse("input 3 x H x W\nconv 64 k=7 s=2 p=3\nmaxpool k=3 s=2 p=1\n"
                    "conv 128 k=3 s=2 p=1\nadaptive_avgpool 1\nflatten\nlinear 10")


@pytest.mark.parametrize(("layer", "unit", "message"), [
    (1, (-1, 0), "unit H = -1 is not a unit of this layer, whose output H has units 0 to 15"),
    (1, (0, 16), "unit W = 16 is not a unit of this layer, whose output W has units 0 to 15"),
    (1, (10**30, 0), f"unit H = {10**30} is not a unit of this layer, whose output H has "
                     "units 0 to 15"),
    (3, (4, 0), "unit H = 4 is not a unit of this layer, whose output H has units 0 to 3"),
    (2, (0,), "the unit takes one index per spatial axis (H, W), got 1"),
    (2, (0, 0, 0), "the unit takes one index per spatial axis (H, W), got 3"),
])
def test_region_refuses_the_units_draw_refuses(layer: int, unit: tuple[int, ...],
                                               message: str) -> None:
    for ask in (lambda: NET.region(layer, unit, H=32, W=32),
                lambda: NET.draw(layer, unit, H=32, W=32)):
        with pytest.raises(symconv.ShapeError) as error:
            ask()
        assert message in str(error.value)
        assert f"layer {layer} (" in str(error.value)


@pytest.mark.parametrize(("unit", "expected"), [
    ((0, 0), ((-3, 3), (-3, 3))),
    ((15, 15), ((27, 33), (27, 33))),
])
def test_region_of_a_unit_that_exists(unit: tuple[int, int], expected: object) -> None:
    assert NET.region(1, unit, H=32, W=32) == expected


def test_region_with_symbolic_sizes_refuses_only_what_is_certainly_outside() -> None:
    assert NET.region(1, (5, 0))[0] == (7, 13)
    with pytest.raises(symconv.ShapeError, match="unit H = -1 is not a unit"):
        NET.region(1, (-1, 0))
