"""`symconv draw` and Network.draw: the figures' geometry against PyTorch, the drawings
against their geometry, and every refusal as a message."""

from __future__ import annotations

import itertools
import json
import random
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from conftest import need_tikz

import symconv
from symconv.derive.figures import LayerFigure, StackFigure
from symconv.render.figure import (
    MAX_CELLS,
    WHOLE,
    elided,
    layer_layout,
    shown_input,
    stack_layout,
)
from tests.test_robustness import run

DOCS = Path(__file__).parent.parent / "docs"
SVG = "{http://www.w3.org/2000/svg}"

# ---------------------------------------------------------------- the PyTorch oracle


def reached(module: torch.nn.Module, sizes: tuple[int, ...]) -> list[list[set[tuple[int, ...]]]]:
    """Per output unit (flattened), the input positions whose value reaches it: every input
    position set to 1 in turn (one batch), the others 0, through a module whose weights are
    ones and whose biases are zero; the unit is nonzero exactly where the position reaches."""
    count = 1
    for n in sizes:
        count *= n
    x = torch.eye(count, dtype=torch.float64).reshape(count, 1, *sizes)
    with torch.no_grad():
        y = module(x)
    out = y.reshape(count, -1)
    positions = [tuple(int(v) for v in idx) for idx in torch.cartesian_prod(
        *(torch.arange(n) for n in sizes)).reshape(count, -1)]
    units = [set() for _ in range(out.shape[1])]
    for b, u in (out != 0).nonzero().tolist():
        units[u].add(positions[b])
    return [units, list(y.shape[2:])]  # type: ignore[list-item]


def ones(module: torch.nn.Module) -> torch.nn.Module:
    for name, p in module.named_parameters():
        torch.nn.init.ones_(p) if name.endswith("weight") else torch.nn.init.zeros_(p)
    return module.double()


def torch_layer(kind: str, rank: int, k: int, s: int, p: int, d: int, op: int,
                ceil: bool) -> torch.nn.Module:
    conv = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d}[rank]
    convt = {1: torch.nn.ConvTranspose1d, 2: torch.nn.ConvTranspose2d}[rank]
    pool = {1: torch.nn.MaxPool1d, 2: torch.nn.MaxPool2d}[rank]
    if kind == "conv":
        return ones(conv(1, 1, k, s, p, d))
    if kind == "convT":
        return ones(convt(1, 1, k, s, p, op, dilation=d))
    return pool(k, s, p, d, ceil_mode=ceil)


def description(kind: str, k: int, s: int, p: int, d: int, op: int, ceil: bool) -> str:
    if kind == "conv":
        return f"conv 1 k={k} s={s} p={p} d={d}"
    if kind == "convT":
        return f"convT 1 k={k} s={s} p={p} d={d} op={op}"
    return f"maxpool k={k} s={s} p={p} d={d}" + (" ceil" if ceil else "")


def random_layer(rng: random.Random) -> tuple[str, int, int, int, int, int, bool]:
    """A layer PyTorch accepts: (kind, k, s, p, d, op, ceil)."""
    kind = rng.choice(["conv", "convT", "maxpool"])
    k, s, d = rng.randint(1, 4), rng.randint(1, 3), rng.randint(1, 2)
    if kind == "maxpool":
        k = max(k, 2)
        return kind, k, s, rng.randint(0, k // 2), d, 0, rng.random() < 0.6
    if kind == "convT":
        return kind, k, s, rng.randint(0, d * (k - 1)), d, rng.randint(0, max(s, d) - 1), False
    return kind, k, s, rng.randint(0, 3), d, 0, False


def unit_positions(figure: LayerFigure, unit: tuple[int, ...]) -> set[tuple[int, ...]]:
    """What the figure says reaches `unit`: the input elements of its window, per axis
    crossed (a transposed convolution's: the inputs among its grid positions)."""
    per_axis = [a.inputs(u) for a, u in zip(figure.axes, unit, strict=True)]
    return {tuple(t) for t in torch.cartesian_prod(
        *(torch.tensor(v, dtype=torch.long) for v in per_axis)).reshape(-1, len(per_axis)).tolist()
            } if all(per_axis) else set()


def every_unit(outs: list[int]) -> list[tuple[int, ...]]:
    return [tuple(int(v) for v in u) for u in torch.cartesian_prod(
        *(torch.arange(n) for n in outs)).reshape(-1, len(outs))]


LAYER_SEEDS = list(range(40))


@pytest.mark.parametrize("seed", LAYER_SEEDS)
def test_every_window_reads_what_pytorch_reads(seed: int) -> None:
    rng = random.Random(seed)
    rank = 1 + seed % 2
    for _ in range(50):  # the first random layer that fits the input
        kind, k, s, p, d, op, ceil = random_layer(rng)
        sizes = tuple(rng.randint(3, 9 if rank == 2 else 14) for _ in range(rank))
        try:
            units, outs = reached(torch_layer(kind, rank, k, s, p, d, op, ceil), sizes)
            break
        except RuntimeError:
            continue
    text = f"input 1 x {' x '.join(map(str, sizes))}\n" + description(kind, k, s, p, d, op, ceil)
    net = symconv.parse(text)
    data = net.draw(1).data()
    figure = net.draw(1).figure
    assert isinstance(figure, LayerFigure)
    assert [a["output"] for a in data["axes"]] == outs, text
    for flat, unit in enumerate(every_unit(outs)):
        assert unit_positions(figure, unit) == units[flat], (text, unit)
    for axis, entry in zip(figure.axes, data["axes"], strict=True):
        for u, reads in entry["reads"].items():  # every window reads k positions d apart
            assert len(reads) == k and all(b - a == d for a, b in itertools.pairwise(reads)), text
            assert reads == list(axis.window(int(u)))


@pytest.mark.parametrize(("n", "k", "s", "p", "d"), [
    (9, 3, 2, 1, 1), (10, 3, 1, 2, 2), (7, 5, 3, 0, 1), (12, 2, 2, 3, 3), (5, 1, 2, 1, 1),
])
def test_padding_positions_are_those_unfold_reads(n: int, k: int, s: int, p: int, d: int) -> None:
    """Positions in the padding too: the input with its padding numbered (position q holds
    q + 1000), unfolded by PyTorch with the conv's window, gives every position read."""
    net = symconv.parse(f"input 1 x {n} x {n}\nconv 1 k={k} s={s} p={p} d={d}")
    figure = net.draw(1).figure
    assert isinstance(figure, LayerFigure)
    numbered = torch.arange(-p, n + p, dtype=torch.float64) + 1000
    grid = (numbered[:, None] * 0 + numbered[None, :]).reshape(1, 1, n + 2 * p, n + 2 * p)
    columns = F.unfold(grid, k, dilation=d, stride=s)  # (1, k*k, units)
    out = figure.axes[1].out
    for col in range(out):
        read = sorted({int(v) - 1000 for v in columns[0, :, col].tolist()})
        assert read == list(figure.axes[1].window(col))


def test_same_padding_is_asymmetric_with_the_extra_element_after() -> None:
    """padding='same' with an even kernel: PyTorch pads one more after; the figure says so,
    and its windows are PyTorch's."""
    net = symconv.parse("input 1 x 8\nconv 1 k=4 p=same")
    figure = net.draw(1).figure
    assert isinstance(figure, LayerFigure)
    axis = figure.axes[0]
    assert (axis.before, axis.after) == (1, 2)
    units, outs = reached(ones(torch.nn.Conv1d(1, 1, 4, padding="same")), (8,))
    assert outs == [8]
    for u in range(8):
        assert {(q,) for q in axis.inputs(u)} == units[u]
    assert "p=1/2" in net.draw(1).svg()


@pytest.mark.parametrize(("n", "k", "s", "p", "extra", "dropped"), [
    # ceil((6+2-3)/2)+1 = 4 windows where floor mode has 3; the last starts at 5 < n + p
    (6, 3, 2, 1, [3], []),
    # ceil((4+2-2)/3)+1 = 3 windows, the last would start at 5 = n + p: dropped, 2 as floor
    (4, 2, 3, 1, [], [5, 6]),
    # ceil((5+2-2)/4)+1 = 3, floor 2; the third would start at 7 >= n + p = 6
    (5, 2, 4, 1, [], [7, 8]),
    (7, 2, 3, 1, [], [8, 9]),
    (5, 2, 2, 0, [2], []),
])
def test_ceil_mode_extra_window_and_the_one_pytorch_drops(
        n: int, k: int, s: int, p: int, extra: list[int], dropped: list[int]) -> None:
    net = symconv.parse(f"input 1 x {n}\nmaxpool k={k} s={s} p={p} ceil")
    data = net.draw(1).data()["axes"][0]
    pool = torch.nn.MaxPool1d(k, s, p, ceil_mode=True)
    floor = torch.nn.MaxPool1d(k, s, p)
    assert data["output"] == pool(torch.zeros(1, 1, n)).shape[-1]
    floor_out = floor(torch.zeros(1, 1, n)).shape[-1]
    assert data["ceil_extra_units"] == extra == list(range(floor_out, data["output"]))
    assert data["dropped_window"] == dropped
    root = ET.fromstring(net.draw(1).svg())
    assert len(_cells(root, "dropped")) == len(dropped)
    assert len(_cells(root, "extra")) == len(extra)
    plain = symconv.parse(f"input 1 x {n}\nmaxpool k={k} s={s} p={p}").draw(1).data()
    assert "dropped_window" not in plain["axes"][0]


def test_transposed_convolution_as_dumoulin_and_visin_draw_it() -> None:
    """Zeros between the inputs, implicit padding k − 1 − p before and that plus
    output_padding after; the windows of a stride-1 convolution over that grid."""
    net = symconv.parse("input 1 x 3 x 3\nconvT 1 k=3 s=2 p=1 op=1")
    data = net.draw(1, (0, 0)).data()
    axis = data["axes"][0]
    assert (axis["zeros_between"], axis["grid"], axis["padding"], axis["output"]) == (
        1, 5, [1, 2], 6)
    assert axis["reads"] == {"0": [-1, 0, 1]} and axis["inputs"] == {"0": [0]}
    root = ET.fromstring(net.draw(1).svg())
    assert len(_cells(root, "zero")) == 5 * 5 - 3 * 3


# ---------------------------------------------------------------- receptive fields


STACKS = [
    "conv 1 k=3 s=2 p=1\nconv 1 k=3 s=2 p=1\nconv 1 k=3",
    "conv 1 k=3 d=2 p=2\nrelu\nmaxpool k=2 s=2\nconv 1 k=3 s=1 p=1",
    "conv 1 k=5 s=2 p=2\nmaxpool k=3 s=2 p=1 ceil\nconv 1 k=3 p=1",
    "conv 1 k=3 s=2\nconvT 1 k=3 s=2 p=1 op=1\nconv 1 k=2",
    "maxpool k=2 s=2\nconv 1 k=3 d=3 p=3\nbn\nconv 1 k=1 s=2",
]


def torch_stack(net: symconv.Network) -> torch.nn.Module:
    """The network as PyTorch layers with ones for weights (relu and bn left out: they
    move no position)."""
    from symconv.language.layers import ConvTranspose, Pool

    modules: list[torch.nn.Module] = []
    for layer in net.layers:
        if isinstance(layer, symconv.layers.Conv):
            w = layer.window
            modules.append(ones(torch.nn.Conv1d(1, 1, w.kernel[0], w.stride[0], w.padding[0],
                                                w.dilation[0])))
        elif isinstance(layer, ConvTranspose):
            w = layer.window
            modules.append(ones(torch.nn.ConvTranspose1d(
                1, 1, w.kernel[0], w.stride[0], w.padding[0], layer.output_padding[0],
                dilation=w.dilation[0])))
        elif isinstance(layer, Pool):
            w = layer.window
            modules.append(torch.nn.MaxPool1d(w.kernel[0], w.stride[0], w.padding[0],
                                              w.dilation[0], ceil_mode=layer.ceil_mode))
    return torch.nn.Sequential(*modules)


@pytest.mark.parametrize("body", STACKS)
@pytest.mark.parametrize("n", [23, 30])
def test_receptive_field_through_layers_is_what_autograd_reaches(body: str, n: int) -> None:
    net = symconv.parse(f"input 1 x {n}\n{body}")
    last = len(net.layers)
    units, outs = reached(torch_stack(net), (n,))
    hull_checked = 0
    for u in range(outs[0]):
        figure = net.draw(layers=(1, last), unit=(u,)).figure
        assert isinstance(figure, StackFigure)
        bottom = figure.levels[0]
        assert {(q,) for q in bottom.reads[0] if 0 <= q < n} == units[u], (body, u)
        # the interval is the engine's own region
        (first, last_), = net.region(last, (u,))
        assert bottom.interval[0] == (first, last_)
        assert all(first <= q <= last_ for (q,) in units[u])
        # where no level's extreme read falls in a padding, the reads span the interval (a
        # transposed convolution's spans its zeros too, which no input reaches)
        if "convT" not in body and all(min(lv.reads[0]) >= 0 and max(lv.reads[0]) < lv.sizes[0]
               for lv in figure.levels[:-1]):
            assert (min(bottom.reads[0]), max(bottom.reads[0])) == (first, last_)
            hull_checked += 1
    assert hull_checked > 0 or "convT" in body


def test_receptive_field_in_two_dimensions_is_what_pytorch_reaches() -> None:
    net = symconv.parse("input 1 x 11 x 9\nconv 1 k=3 s=2 p=1\nmaxpool k=2 s=2 ceil")
    model = torch.nn.Sequential(ones(torch.nn.Conv2d(1, 1, 3, 2, 1)),
                                torch.nn.MaxPool2d(2, 2, ceil_mode=True))
    units, outs = reached(model, (11, 9))
    for flat, unit in enumerate(every_unit(outs)):
        figure = net.draw(layers=(1, 2), unit=unit).figure
        assert isinstance(figure, StackFigure)
        reads = figure.levels[0].reads
        found = {(r, c) for r in reads[0] for c in reads[1] if 0 <= r < 11 and 0 <= c < 9}
        assert found == units[flat], unit


# ---------------------------------------------------------------- drawings


def _cells(root: ET.Element, role: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}rect") if e.get("class") == f"cell {role}"]


@pytest.mark.parametrize("text", [
    "input 1 x 7 x 7\nconv 1 k=3 s=2 p=1 d=2",
    "input 1 x 5 x 6\nconvT 1 k=3 s=2 p=0 op=1",
    "input 1 x 10\nmaxpool k=3 s=2 p=1 ceil",
    "input 3 x 224 x 224\nconv 64 k=11 s=4 p=2",
    "input 1 x 300\nconv 1 k=7 s=3 d=5 p=9",
])
def test_svg_is_xml_whose_cells_are_the_geometry(text: str) -> None:
    net = symconv.parse(text)
    rng = random.Random(text)
    figure = net.draw(1).figure
    assert isinstance(figure, LayerFigure)
    for _ in range(5):
        unit = tuple(rng.randrange(a.out) for a in figure.axes)
        drawing = net.draw(1, unit)
        fig = drawing.figure
        assert isinstance(fig, LayerFigure)
        layout = layer_layout(fig)
        root = ET.fromstring(drawing.svg())
        grid_cells = sum(len(_cells(root, r)) for r in ("input", "zero", "padding", "outside"))
        shown = [[q for q in shown_input(a, u) if q is not None]
                 for a, u in zip(fig.axes, unit, strict=True)]
        assert grid_cells == _product(len(s) for s in shown)
        # the window is drawn whole where it spans at most WHOLE positions, else its ends
        for a, u, s in zip(fig.axes, unit, shown, strict=True):
            w = a.window(u)
            assert {w[0], w[-1]} <= set(s)
            if w[-1] - w[0] < WHOLE:
                assert set(w) <= set(s)
        reads = _product(len(set(a.window(u)) & set(s))
                         for a, u, s in zip(fig.axes, unit, shown, strict=True))
        assert len(_cells(root, "read")) == reads == sum(c.role == "read" for c in layout.cells)
        assert len(_cells(root, "unit")) == 1
        assert layout.size[0] < 2 * (2 * MAX_CELLS + 10)  # fits a page, however wide the input


def _product(values: object) -> int:
    out = 1
    for v in values:  # type: ignore[attr-defined]
        out *= v
    return out


@pytest.mark.parametrize("n", [20, 224, 1000])
@pytest.mark.parametrize("seed", range(5))
def test_elision_keeps_the_window_and_the_ends(n: int, seed: int) -> None:
    rng = random.Random(seed)
    lo, hi = -rng.randint(0, 3), n + rng.randint(0, 3)
    start = rng.randint(lo, hi - 5)
    window = tuple(range(start, min(hi, start + WHOLE)))
    shown = elided(lo, hi, window)
    kept = [q for q in shown if q is not None]
    assert set(window) <= set(kept) and kept == sorted(kept)
    assert kept[0] == lo and kept[-1] == hi - 1
    assert len(shown) <= max(hi - lo, 2 * 3 + 2 + WHOLE + 2 + 2)
    for a, b in itertools.pairwise(shown):  # a gap is marked exactly where positions are left out
        if a is not None and b is not None:
            assert b == a + 1


def test_animation_shows_every_shown_unit_in_turn() -> None:
    net = symconv.parse("input 1 x 6 x 6\nconv 1 k=3 s=1 p=0")
    root = ET.fromstring(net.draw(1, animate=True).svg())
    animated = [e for e in root.iter(f"{SVG}rect") if e.find(f"{SVG}animate") is not None]
    assert len(animated) == 16 * (9 + 1)  # 16 output units: 9 reads and the unit each
    times = {e.find(f"{SVG}animate").get("keyTimes") for e in animated}  # type: ignore[union-attr]
    assert len(times) == 16


def test_stack_drawing_is_xml_with_each_level() -> None:
    net = symconv.parse("input 1 x 16 x 16\nconv 1 k=3 s=2 p=1\nconv 1 k=3 s=2 p=1")
    drawing = net.draw(layers=(1, 2), unit=(1, 2))
    root = ET.fromstring(drawing.svg())
    figure = drawing.figure
    assert isinstance(figure, StackFigure)
    reads = sum(len(lv.reads[0]) * len(lv.reads[1]) for lv in figure.levels)
    assert len(_cells(root, "read")) == reads
    assert len(_cells(root, "interval")) == len(figure.levels)
    assert sum(c.role == "read" for c in stack_layout(figure).cells) == reads


def test_tikz_figures_compile(tmp_path: Path) -> None:
    pdflatex = need_tikz()
    net = symconv.parse("input 1 x 9 x 9\nconv 1 k=3 s=2 p=1 d=2\nmaxpool k=2 s=2 p=1 ceil\n"
                        "convT 1 k=3 s=2 p=1 op=1")
    pictures = [net.draw(i).tikz() for i in (1, 2, 3)] + [net.draw(layers=(1, 3)).tikz()]
    doc = ("\\documentclass{article}\n\\usepackage{tikz}\n\\begin{document}\n"
           + "\n\\bigskip\n".join(pictures) + "\\end{document}\n")
    (tmp_path / "f.tex").write_text(doc, encoding="utf-8")
    done = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "f.tex"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stdout[-2000:]


def test_png_through_pdflatex_and_pdftoppm(tmp_path: Path) -> None:
    need_tikz()
    out = tmp_path / "f.png"
    code, _, err = run(["draw", "-e", "input 1 x 5 x 5\nconv 1 k=3", "--layer", "1",
                        "--format", "png", "-o", str(out)])
    assert (code, err) == (0, "")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_json_gives_every_unit_or_the_one_asked_for() -> None:
    text = "input 1 x 5 x 4\nconv 1 k=3 s=1 p=1"
    code, out, _ = run(["draw", "-e", text, "--layer", "1", "--format", "json"])
    data = json.loads(out)
    assert code == 0 and [len(a["reads"]) for a in data["axes"]] == [5, 4]
    code, out, _ = run(["draw", "-e", text, "--layer", "1", "--unit", "4,3", "--format", "json"])
    data = json.loads(out)
    assert [a["reads"] for a in data["axes"]] == [{"4": [3, 4, 5]}, {"3": [2, 3, 4]}]


def test_jupyter_shows_the_svg() -> None:
    drawing = symconv.parse("input 1 x 5 x 5\nconv 1 k=3").draw(1)
    assert drawing._repr_svg_() == drawing.svg()
    assert drawing._repr_svg_().startswith("<svg ")


# ---------------------------------------------------------------- refusals


NET = "input 3 x 8 x 8\nconv 4 k=3 p=1\nflatten\nlinear 10"
REFUSALS = [
    (["--layer", "9"], "no layer 9 to draw: the network has layers 1 to 3"),
    (["--layer", "3"], "line 4, column 1, layer 3 (linear): a figure shows a sliding window, "
     "which a linear layer has none of (draw a conv, convT or pool layer)"),
    (["--layer", "1", "--unit", "8,0"], "line 2, column 1, layer 1 (conv2d): unit H = 8 is not "
     "a unit of this layer, whose output H has units 0 to 7"),
    (["--layer", "1", "--unit", "0"], "the unit takes one index per spatial axis (H, W), got 1"),
    (["--layer", "1", "--unit", "a,b"], "--unit takes whole numbers such as 0,0; got 'a,b'"),
    (["--layer", "1", "--format", "tikz", "--animate"], "--animate makes an animated SVG"),
    (["--layer", "1", "--format", "pdf"], "--format pdf writes a binary file: give -o FILE"),
    ([], "draw needs --layer N (one window) or --layers A-B"),
    (["--layer", "1", "--layers", "1-2"], "give --layer N or --layers A-B, not both"),
    (["--layers", "2-1"], "--layers 2-1: the first layer comes after the last"),
    (["--layers", "1-x"], "--layers takes A-B, such as 1-3: expected a whole number, got 'x'"),
    (["--layers", "1-3"], "line 3, column 1, layer 2 (flatten): a figure shows a sliding "
     "window, which a flatten layer has none of"),
]


@pytest.mark.parametrize(("options", "message"), REFUSALS)
def test_refusals_name_the_layer_and_the_rule(options: list[str], message: str) -> None:
    code, out, err = run(["draw", "-e", NET, *options])
    assert (code, out) == (2, "")
    assert err.startswith("symconv: error: ") and message in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize(("text", "message", "fixed"), [
    ("input 3 x W x W\nconv 4 k=3",
     "line 2, column 1, layer 1 (conv2d): a figure needs numbers, but W is a symbol here; "
     "give it a value (--set W=… on the command line, W=… in Python)", ["--set", "W=8"]),
    ("input 3 x 8 x 8\nconv 4 k=K s=S", "but K, S are symbols here; give them values",
     ["--set", "K=3", "--set", "S=2"]),
    ("input 3 x 8 x 8 x 8\nconv 4 k=3",
     "layer 1 (conv3d): a figure shows 1-D and 2-D layers; this one is 3-D", None),
])
def test_refusals_of_what_cannot_be_drawn(text: str, message: str,
                                          fixed: list[str] | None) -> None:
    code, _, err = run(["draw", "-e", text, "--layer", "1"])
    assert code == 2 and message in err, err
    if fixed is not None:  # with numbers given, the same layer is drawn
        code, out, err = run(["draw", "-e", text, "--layer", "1", *fixed])
        assert (code, err) == (0, "") and out.startswith("<svg ")


@pytest.mark.parametrize(("call", "message"), [
    (lambda n: n.draw(), "draw: give either a layer (one window) or layers=(first, last)"),
    (lambda n: n.draw(1, layers=(1, 2)), "draw: give either a layer"),
    (lambda n: n.draw("one"), "layer: "),
    (lambda n: n.draw(1, (0.5, 0)), "draw: the unit is one whole number per spatial axis"),
    (lambda n: n.draw(1, 3), "draw: the unit is one whole number per spatial axis"),
    (lambda n: n.draw(layers=3), "draw: layers takes (first, last), got int 3"),
    (lambda n: n.draw(layers=(2, 1)), "no layers 2-1 to draw"),
])
def test_python_refusals(call: object, message: str) -> None:
    net = symconv.parse("input 1 x 8 x 8\nconv 1 k=3\nconv 1 k=3")
    with pytest.raises(symconv.SymconvError, match=re.escape(message)):
        call(net)  # type: ignore[operator]


# ---------------------------------------------------------------- the documented figure


FIGURE = DOCS / "figures" / "dilated-conv.svg"
FIGURE_ARGS = ["draw", "-e", "input 1 x 7 x 7\nconv 1 k=3 s=2 p=1 d=2", "--layer", "1",
               "--unit", "1,1"]


def test_the_documented_figure_is_what_the_command_makes() -> None:
    code, out, err = run(FIGURE_ARGS)
    assert (code, err) == (0, "")
    assert out == FIGURE.read_text(encoding="utf-8")
    assert "dilated-conv.svg" in (DOCS / "draw.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(("options", "message"), [
    (["--layer", "1", "--format", "json"], "the output along H has 500000000000 units, more "
     "than the 100000 a figure's data lists: ask for one unit (--unit, or unit= in Python)"),
    (["--layer", "2", "--set", "K=10**6", "--unit", "0,0"], "line 3, column 1, layer 2 "
     "(conv2d): a figure lists the positions each window reads, at most 100000 along an axis; "
     "the kernel along H has 1000000"),
])
def test_huge_sizes_are_refused_or_elided_never_listed(options: list[str], message: str) -> None:
    text = "input 1 x W x W\nconv 1 k=3 s=2 p=1\nconv 1 k=K"
    code, _, err = run(["draw", "-e", text, "--set", "W=10**12", *options])
    assert code == 2 and message in err, err
    code, out, err = run(["draw", "-e", text, "--set", "W=10**12", "--set", "K=3",
                          "--layers", "1-2", "--unit", "123456789,5"])
    assert (code, err) == (0, "")
    root = ET.fromstring(out)
    assert len(list(root.iter(f"{SVG}rect"))) < 2000
