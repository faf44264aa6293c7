"""Display forms agree and survive: the unit a region or a figure is asked for is one check;
Table, Derivation and Solution pickle and deep-copy to equal objects that print the same."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

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


# ---------------------------------------------------------------- pickle and deepcopy

EXAMPLES = Path(__file__).parent.parent / "examples"
SMALL = ("lenet5", "symbolic", "audio1d", "seed_conv")


def _objects() -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for name in SMALL:
        net = symconv.parse((EXAMPLES / f"{name}.net").read_text(encoding="utf-8"))
        found += [(f"{name} network", net), (f"{name} table", net.table()),
                  (f"{name} derivation", symconv.derive(net))]
    upsampled = symconv.parse("input 3 x H x W\nconv 8 k=3 s=2\nrepeat N { conv 8 k=3 }\n"
                              "upsample scale_factor=2")
    found += [
        ("no solution", symconv.solve(upsampled, "W", "7", H=32, N=1)),
        ("symbolic solution", symconv.solve("input 3 x H x W\nconv 8 k=K p=P", "P", "H")),
        ("numeric solution", symconv.solve("input 3 x 32 x W\nconv 8 k=3 s=2", "W", "15")),
        ("derivation with numbers", symconv.derive(upsampled, H=32, W=40, N=2)),
    ]
    return found


OBJECTS = _objects()


@pytest.mark.parametrize(("name", "obj"), OBJECTS, ids=[n for n, _ in OBJECTS])
def test_pickle_and_deepcopy_keep_the_object_and_its_forms(name: str, obj: object) -> None:
    forms = [str]
    forms += [getattr(type(obj), m) for m in ("_repr_markdown_", "_repr_latex_")
              if hasattr(obj, m)]
    for copied in (pickle.loads(pickle.dumps(obj)), copy.deepcopy(obj)):
        assert type(copied) is type(obj)
        assert copied == obj
        for form in forms:
            assert form(copied) == form(obj), form
