"""Named tensors (`name = layer`; `concat a b`, `add a b`, `mul a b`, `use a`): a graph in
which one layer's output feeds several later layers, computed once.

Oracles: PyTorch (output shapes and parameter counts of dense blocks written by hand, in the
language and read by from_torch), autograd (the input elements one output unit depends on,
against the receptive field), the trace (against the compiled numeric path), from_torch
(reading back what to_torch_code writes). Every rule of the names, with its message.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import torch
from oracle_cases import forward_facts, network_facts
from test_fast_path import check_agrees
from test_interop import Double, Upsampling  # once refused: x + x, a size from elsewhere
from test_torch_sizes import FromOther, TwoOutputs  # once refused: read with names now
from torch import nn

import symconv
from symconv.cli import main
from symconv.interop.torch_check import compare
from symconv.interop.torch_code import to_torch_module
from symconv.interop.torch_graph import Step, channels_last_sections
from symconv.language.layers import Activation, Bind, Join, Layer, kind_of, unbound

# ---------------------------------------------------------------- dense blocks


def dense_text(layers: int, channels: int = 3, growth: int = 4, size: int = 9) -> str:
    """A dense block in the language: each layer reads the concatenation of the input and of
    every layer's output before it (batch norm, ReLU, 3 x 3 convolution)."""
    lines, names = [f"input {channels} x {size} x {size}"], ["x"]
    for i in range(1, layers + 1):
        lines += [f"concat {' '.join(names)}", "bn", "relu", f"y{i} = conv {growth} k=3 p=1"]
        names.append(f"y{i}")
    lines.append(f"concat {' '.join(names)}")
    return "\n".join(lines)


class DenseBlock(nn.Module):
    """The same block as torchvision writes it: a list of features, concatenated each time."""

    def __init__(self, layers: int, channels: int = 3, growth: int = 4) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.Sequential(nn.BatchNorm2d(channels + i * growth), nn.ReLU(),
                          nn.Conv2d(channels + i * growth, growth, 3, padding=1))
            for i in range(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.layers:
            features.append(layer(torch.cat(features, 1)))
        return torch.cat(features, 1)


def every_record(records: Any) -> list[Any]:
    return [x for r in records for x in (r, *every_record(r.children))]


def leaves(network: symconv.Network) -> list[tuple[Any, ...]]:
    """The layers' kinds, shapes and parameters, blocks and joins left out."""
    kept = ("concat", "add", "mul", "use", "identity", "residual", "scale")
    return [(kind, r.output_shape, r.params) for r in every_record(network.records())
            if (kind := r.kind.rpartition(" = ")[2]).split(" ")[0] not in kept]


def canonical(network: symconv.Network) -> list[tuple[Any, ...]]:
    """Each layer's kind (names left out), join, output shape and parameters, every name
    replaced by its order of binding: two networks that differ only in their names (the
    text's, and the nodes' that from_torch reads) give the same rows."""
    names = {network.input_name: "input"}
    rows = []
    for layer, record in zip(network.layers, network.records(), strict=True):
        inner = unbound(layer)
        join = ((inner.op.value, tuple(names[n] for n in inner.names))
                if isinstance(inner, Join) else type(inner).__name__)
        if isinstance(layer, Bind):
            names[layer.name] = f"t{len(names)}"
        rows.append((join, record.output_shape, record.params))
    return rows


@pytest.mark.parametrize("layers", [1, 2, 3, 4])
def test_dense_block_in_the_language_agrees_with_torch(layers: int) -> None:
    network = symconv.parse(dense_text(layers))
    assert network_facts(network) == forward_facts(DenseBlock(layers), (3, 9, 9))
    comparison = compare(network, {})  # the code to_torch_code writes, row by row
    assert comparison.torch_error is None and comparison.agrees
    assert len(comparison.rows) == len(network.layers)


@pytest.mark.parametrize("layers", [1, 2, 3, 4])
def test_dense_block_from_torch_is_named_not_copied(layers: int) -> None:
    model = DenseBlock(layers)
    network = symconv.from_torch(model, (3, 9, 9))
    assert network_facts(network) == forward_facts(model, (3, 9, 9))
    # one convolution per dense layer: no layer is copied into a second branch
    assert sum(r.kind.endswith("conv2d") for r in every_record(network.records())) == layers
    if layers > 1:  # one layer is still a tree of blocks (concat { identity } { ... })
        assert canonical(network) == canonical(symconv.parse(dense_text(layers)))


class TwoDepths(nn.Module):
    """LR-ASPP's head in small: two tensors computed from one, at different depths, multiplied
    (a gate of one, pooled) and added to a third."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.cbr = nn.Sequential(nn.Conv2d(8, 6, 1), nn.ReLU())
        self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(8, 6, 1), nn.Sigmoid())
        self.side = nn.Conv2d(8, 6, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        high = self.stem(x)
        return self.cbr(high) * self.gate(high) + self.side(high)


class TwoGates(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x) * torch.sigmoid(self.conv(x))


@pytest.mark.parametrize(("make", "shape"), [(TwoDepths, (3, 16, 12)), (TwoGates, (4, 8, 8)),
                                             (Upsampling, (3, 17, 17)), (Double, (4, 8, 8)),
                                             (FromOther, (3, 16, 16))],
                         ids=["two depths", "two gates", "resized to a named tensor",
                              "x + x", "resized to another branch's tensor"])
def test_products_of_computed_tensors_from_torch(make: type[nn.Module],
                                                 shape: tuple[int, ...]) -> None:
    model = make()
    network = symconv.from_torch(model, shape)
    assert network_facts(network) == forward_facts(model, shape)
    assert any(isinstance(x, Bind | Join) for x in network.layers)


# ---------------------------------------------------------------- round trip, fast path

NAMED = [
    dense_text(3),
    "input 3 x 16 x 16\na = conv 4 k=3 s=2 p=1\nb = conv 4 k=3 p=1\nadd a b\nconv 5 k=3 p=1",
    "input 2 x 16 x 16 as img\ng = conv 6 k=3 p=1\nbn\nrelu\np = adaptive_avgpool 1\n"
    "m = mul g p\nuse img\nc = conv 6 k=5 p=2\nout = add m c",
    "input 3 x 12 x 12\nresidual { conv 3 k=3 p=1 }\nk = identity\nuse x\n"
    "avgpool k=3 s=1 p=1\nm = relu\nconcat m k x",
]


@pytest.mark.parametrize("text", NAMED, ids=range(len(NAMED)))
def test_to_torch_code_reads_back_as_the_same_network(text: str) -> None:
    network = symconv.parse(text)
    namespace: dict[str, Any] = {}
    exec(network.to_torch_code(), namespace)  # the test runs the code symconv wrote
    model = namespace["net"]
    shape = tuple(int(v) for v in network.input_shape)
    assert network_facts(network) == forward_facts(model, shape)
    back = symconv.from_torch(model, shape)
    if any(isinstance(unbound(x), Join) for x in back.layers):
        assert canonical(back) == canonical(network)
    else:  # a tree, read as blocks (a residual for `add a b`): the same layers in them
        assert sorted(leaves(back), key=str) == sorted(leaves(network), key=str)


SYMBOLIC = [
    "input 3 x H x W\ny1 = conv 4 k=K p=P\ny2 = conv 4 k=3 p=1\nconcat y1 y2\nuse y1\n"
    "maxpool k=S",
    "input 4 x H x W\na = conv 4 k=3 s=S p=1\nb = conv 4 k=1\nadd a b\n"
    "g = adaptive_avgpool 1\nmul b g\nmaxpool k=2 ceil",
    "input 4 x H x W\nd = upsample scale_factor=S\nuse x\nu = upsample scale_factor=S\n"
    "concat d u",
]


@pytest.mark.parametrize("text", SYMBOLIC, ids=range(len(SYMBOLIC)))
def test_compiled_path_equals_the_trace(text: str) -> None:
    network = symconv.parse(text)
    rng = random.Random(text)
    ranges = {"H": (1, 40), "W": (1, 40), "K": (1, 5), "P": (0, 3), "S": (1, 3)}
    accepted = sum(check_agrees(network, {n: rng.randint(*ranges[n]) for n in network.symbols})
                   for _ in range(12))
    assert accepted >= 3


# ---------------------------------------------------------------- receptive fields

FIELDS = [
    dense_text(3, size=21),
    "input 1 x 33 x 33\na = conv 2 k=3 s=2 p=1\nb = conv 2 k=3 p=1\nadd a b\nconv 2 k=3 p=1",
    "input 2 x 25 x 25\ny = conv 2 k=5 p=2\nuse x\nz = conv 2 k=3 p=1\nadd y z\n"
    "avgpool k=3 s=2 p=1",
    "input 2 x 17 x 17\na = conv 3 k=3 p=1\ng = avgpool k=(17, 1)\nmul a g",
    # a scale block whose gate is spatial (attention-like, not pooled): the gate's field too
    "input 2 x 17 x 17\nconv 2 k=1\nscale { conv 2 k=7 p=3\nsigmoid }",
    "input 2 x 19 x 19\nconv 2 k=3 s=2 p=1\nscale { avgpool k=3 s=1 p=1\nconv 1 k=3 p=1\n"
    "sigmoid }",  # (one channel: the gate broadcast along the channels)
]


def autograd_interval(model: nn.Module, shape: tuple[int, ...], unit: int
                      ) -> list[tuple[int, int]]:
    """Per spatial axis, the first and last input index that output unit (unit, unit, ...)
    depends on: autograd through the module, its parameters all positive."""
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(0.1)
    x = torch.ones(1, *shape, requires_grad=True)
    out = model.eval()(x)
    out[(0, slice(None), *(unit,) * (len(shape) - 1))].sum().backward()
    assert x.grad is not None
    seen = x.grad[0].abs().sum(0) > 0
    spans = []
    for axis in range(len(shape) - 1):
        others = tuple(a for a in range(len(shape) - 1) if a != axis)
        hit = seen.any(dim=others) if others else seen
        where = torch.nonzero(hit).flatten().tolist()
        spans.append((where[0], where[-1]))
    return spans


@pytest.mark.parametrize("text", FIELDS, ids=range(len(FIELDS)))
def test_receptive_field_is_what_autograd_sees(text: str) -> None:
    network = symconv.parse(text)
    shape = tuple(int(v) for v in network.input_shape)
    namespace: dict[str, Any] = {}
    exec(network.to_torch_code(), namespace)
    last = network.records()[-1]
    unit = int(last.output_shape[1]) // 2
    for axis, (field, (first, end)) in enumerate(zip(
            last.fields, autograd_interval(namespace["net"], shape, unit), strict=True)):
        n = shape[axis + 1]
        low, high = field.interval(unit) if not field.ended else (0, n - 1)
        assert (max(int(low), 0), min(int(high), n - 1)) == (first, end)


def test_a_gate_is_left_out_of_the_field_as_a_scale_blocks_is() -> None:
    """docs/conventions.md: a tensor pooled to one unit and broadcast (a gate) does not make
    every unit after it see the whole input."""
    named = symconv.parse("input 4 x 17 x 17\na = conv 4 k=3 p=1\ng = adaptive_avgpool 1\n"
                          "mul a g\nconv 4 k=3 p=1")
    block = symconv.parse("input 4 x 17 x 17\nconv 4 k=3 p=1\nscale { adaptive_avgpool 1 }\n"
                          "conv 4 k=3 p=1")
    assert [r.fields for r in named.records()][2:] == [r.fields for r in block.records()][1:]


# ---------------------------------------------------------------- the rules of names

IN = "input 3 x 8 x 8\n"
ERRORS = [
    (IN + "concat x y", symconv.UnknownNameError,
     ["line 2", "layer 1 (concat x y)", "unknown tensor 'y'", "(here: x)"]),
    (IN + "add x ys\nys = relu", symconv.UnknownNameError,
     ["line 2", "the tensor 'ys' is used before it is bound (it is bound on line 3)"]),
    (IN + "y = relu\ny = relu", symconv.InvalidLayerError,
     ["line 3", "layer 2 (y = relu)", "the name 'y' is bound twice (first by line 2)"]),
    (IN + "x = relu", symconv.InvalidLayerError,
     ["line 2", "the name 'x' is bound twice (first by the network's input)"]),
    ("input 3 x 8 x 8 as a\nrelu\nconcat a x", symconv.UnknownNameError,
     ["line 3", "unknown tensor 'x'", "(here: a)"]),
    (IN + "residual {\n  y = relu\n}", symconv.InvalidLayerError,
     ["line 3", "the binding 'y' inside a block: names are bound and read at the top level"]),
    (IN + "residual {\n  add x x\n}", symconv.InvalidLayerError,
     ["line 3", "'add' of named tensors inside a block"]),
    (IN + "add x", symconv.InvalidLayerError, ["line 2", "add takes two or more named "
                                               "tensors, got 1"]),
    (IN + "mul x", symconv.InvalidLayerError, ["mul takes two or more named tensors, got 1"]),
    (IN + "use x x", symconv.InvalidLayerError, ["use takes one named tensor, got 2"]),
    (IN + "concat", symconv.InvalidLayerError, ["concat takes one or more named tensors, "
                                                "got 0"]),
    (IN + "y = residual { relu }", symconv.InvalidLayerError,
     ["line 2", "names a block", "then 'y = identity'"]),
    (IN + "concat x 3", symconv.InvalidLayerError,
     ["line 2, column 10", "concat takes names of tensors", "not 3"]),
    (IN + "concat x dim=1", symconv.InvalidLayerError, ["not keywords (dim=)"]),
    (IN + "y = maxpool k=2\nconcat x y", symconv.ShapeError,
     ["line 3", "layer 2 (concat x y)", "'x' gives 8 x 8 and 'y' 4 x 4", "concatenated"]),
    (IN + "y = conv 4 k=1\nadd x y", symconv.ShapeError,
     ["line 3", "add of 'x' 3 x 8 x 8, 'y' 4 x 8 x 8: the sizes do not broadcast"]),
    (IN + "y = flatten\nadd x y", symconv.ShapeError,
     ["line 3", "add joins tensors with different numbers of spatial axes (x: 2, y: 0)"]),
]


@pytest.mark.parametrize(("text", "error", "fragments"), ERRORS,
                         ids=[e[2][-1][:40] for e in ERRORS])
def test_name_errors_say_the_line_the_layer_and_the_rule(
        text: str, error: type[symconv.SymconvError], fragments: list[str]) -> None:
    with pytest.raises(error) as caught:
        symconv.parse(text).records()
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message


def test_a_from_torch_network_checks_its_names() -> None:
    """Every Bind and Join from_torch writes obeys the rules (check_names passed)."""
    network = symconv.from_torch(DenseBlock(2), (3, 9, 9))
    bound = {x.name for x in network.layers if isinstance(x, Bind)}
    read = {n for x in network.layers if isinstance(j := unbound(x), Join) for n in j.names}
    assert read - bound == {network.input_name}


def test_the_command_line_names_the_rule(monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["table", "-e", IN + "y = relu\nconcat x z"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.startswith("symconv: error: line 3") and "unknown tensor 'z'" in err
    assert "Traceback" not in err


def test_tables_show_the_names_in_the_layer_column() -> None:
    table = str(symconv.parse(dense_text(2)).table())
    assert "y1 = conv2d" in table and "concat x y1 y2" in table


def test_a_long_join_is_labelled_with_its_count() -> None:
    layer: Layer = Join(symconv.language.layers.JoinOp.CONCAT, tuple(f"t{i}" for i in range(9)))
    assert symconv.language.layers.kind_of(layer) == "concat t0 t1 t2 … t8 (9 tensors)"


def test_solver_and_derivation_follow_the_names() -> None:
    network = symconv.parse("input 3 x H x W\ny = conv 8 k=3 s=2 p=1\nz = conv 8 k=3 p=1\n"
                            "add y z\nmaxpool k=2")
    solution = symconv.solve(network, "H", 7)
    found = [h for h in range(8, 60) if network.output_shape(H=h, W=8)[1] == 7]
    assert str(solution).startswith(f"H in {found[0]}..{found[-1]}")  # brute force
    derivation = symconv.derive(network)
    assert [layer.kind for layer in derivation.layers][:2] == ["y = conv2d", "z = conv2d"]


# ---------------------------------------------------------------- several outputs


class TwoHeads(nn.Module):
    """A tuple of two tensors computed from one trunk, at different sizes."""

    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.Conv2d(3, 8, 3, padding=1)
        self.small = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(8, 5, 1))
        self.flat = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 7))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        trunk = self.trunk(x)
        return self.small(trunk), self.flat(trunk)


def test_a_tuple_of_outputs_reports_each() -> None:
    model = TwoHeads()
    network = symconv.from_torch(model, (3, 10, 12))
    with torch.no_grad():
        outs = model(torch.zeros(1, 3, 10, 12))
    expected = {str(i): tuple(out.shape[1:]) for i, out in enumerate(outs)}
    assert network.output_shapes() == expected
    assert network.output_shape() == expected["0"]  # the first output stays the output
    assert int(network.params()) == sum(p.numel() for p in model.parameters())
    symbolic = symconv.from_torch(model)  # H, W symbols, substituted
    assert symbolic.output_shapes(H=10, W=12) == expected


def test_a_dict_of_outputs_one_computed_from_the_other() -> None:
    model = TwoOutputs()  # {"out": b(a(x)), "aux": a(x)}
    network = symconv.from_torch(model, (3, 16, 16))
    with torch.no_grad():
        outs = model(torch.zeros(1, 3, 16, 16))
    assert network.output_shapes() == {k: tuple(v.shape[1:]) for k, v in outs.items()}
    assert network.output_shape() == tuple(outs["out"].shape[1:])


def test_segmentation_with_an_auxiliary_head_reports_out_and_aux() -> None:
    from torchvision_zoo import import_torchvision

    segmentation = import_torchvision().models.segmentation
    with torch.device("meta"):
        model = segmentation.fcn_resnet50(weights=None, weights_backbone=None, aux_loss=True)
    network = symconv.from_torch(model.eval(), (3, 64, 48))
    with torch.no_grad():
        outs = model(torch.zeros(1, 3, 64, 48, device="meta"))
    assert network.output_shapes() == {k: tuple(v.shape[1:]) for k, v in outs.items()}
    assert [key for key, _ in network.outputs] == ["out", "aux"]
    assert (network.output_shape(), int(network.params())) == (
        (21, 64, 48), sum(p.numel() for p in model.parameters()))
    written_model = to_torch_module(network, device="meta")  # its forward returns both
    with torch.no_grad():
        written = written_model(torch.zeros(1, 3, 64, 48, device="meta"))
    assert {k: tuple(v.shape[1:]) for k, v in written.items()} == network.output_shapes()


def test_a_derivation_goes_on_from_the_tensor_a_join_reads() -> None:
    """After `use a` the next layer's formula reads the join's sizes (H_3), not those of the
    layer written before it (b's H_2), whatever their values."""
    network = symconv.parse("input 3 x H x W\na = conv 4 k=3 s=2 p=1\nb = conv 6 k=5 p=2\n"
                            "use a\nc = conv 6 k=1\nadd b c")
    text = str(symconv.derive(network))
    assert "H_4 = floor((H_3 - K_4" in text and "params_4 = (C_3*" in text


def test_a_long_dense_block_in_text_is_not_refused_for_its_names() -> None:
    """Tensors' names are not symbols: a dense block of 60 layers (60 names read ~1800
    times) stays within the limit on symbolic terms times layers."""
    network = symconv.parse(dense_text(60, size=4))
    assert network.output_shape() == (3 + 60 * 4, 4, 4)


class DenseChannelsLast(nn.Module):
    """A dense join whose second layer is a channels-last section (permute, layernorm,
    linear, permute back): read with names, the permutes become one section."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.norm, self.linear = nn.LayerNorm(8), nn.Linear(8, 6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        t = torch.cat([x, y], 1).permute(0, 2, 3, 1)
        t = self.linear(self.norm(t)).permute(0, 3, 1, 2)
        return torch.cat([x, y, t], 1)


def test_a_named_graph_reads_its_permutes_as_a_channels_last_section() -> None:
    model, shape = DenseChannelsLast(), (4, 6, 5)
    network = symconv.from_torch(model, shape)
    assert network_facts(network) == forward_facts(model, shape)
    assert [type(unbound(x)).__name__ for x in network.layers].count("ChannelsLast") == 1
    assert "identity" not in [kind_of(unbound(x)) for x in network.layers]  # no permute left


def test_a_permuted_tensor_that_is_named_is_refused() -> None:
    """torch_named.py names a tensor that several later nodes read; a permuted one is no
    channels-last section (other layers see its channels last)."""
    opening = Step(Bind("t", Activation("identity")), "Tensor.permute(0, 2, 3, 1) in the forward",
                   permute=(0, 2, 3, 1))
    closing = Step(Activation("identity"), "Tensor.permute(0, 3, 1, 2) in the forward",
                   permute=(0, 3, 1, 2))
    with pytest.raises(symconv.SymconvError) as caught:
        channels_last_sections([opening, Step(Activation("gelu"), "gelu"), closing])
    assert str(caught.value).startswith(
        "Tensor.permute(0, 2, 3, 1) in the forward puts the channels last in a tensor that "
        "other layers read too; symconv reads a permute only as the pair around layers that "
        "act on each position's channels alone")
