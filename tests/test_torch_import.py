"""from_torch never answers silently wrong: PyTorch is the oracle.

- Shared modules: a module called at several places is a layer per call, its parameters
  counted once, as `model.parameters()` counts them.
- Rejections: where PyTorch's forward raises, from_torch (or the later evaluation of a
  symbolic import) raises a SymconvError naming the module path and the rule; where it does
  not, shapes and counts agree.
- Subclasses: a subclass of a layer symconv reads is read as that layer only when it merely
  configures it; otherwise it is traced into and refused by path and class.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given, settings
from hypothesis import strategies as st
from torch import nn

import symconv
from symconv.documents.notes import build_notes, notes_body
from symconv.interop import torch_check
from symconv.language import catalog
from symconv.present.latex import escape_text, math_text
from symconv.present.values import row_label
from symconv.render.markdown import escape_markdown
from symconv.render.table import table_json, table_latex, table_markdown, table_text

Outcome = tuple[tuple[int, ...], int] | None


def torch_outcome(module: nn.Module, shape: tuple[int, ...]) -> Outcome:
    """(output shape without the batch axis, parameters counted once), or None where the
    forward raises or gives an empty tensor (symconv reports an empty output as an error)."""
    module.eval()
    try:
        with torch.no_grad():
            out = module(torch.zeros(1, *shape))
    except (RuntimeError, ValueError, TypeError):
        return None
    if out.numel() == 0:
        return None
    return tuple(out.shape[1:]), sum(p.numel() for p in module.parameters())


def symconv_outcome(network: symconv.Network, **sizes: int) -> tuple[tuple[int, ...], int]:
    records = network.records(**sizes)
    return (tuple(int(v) for v in records[-1].output_shape),
            int(sum(int(r.params) for r in records)))


# ---------------------------------------------------------------- shared modules


class CalledTwice(nn.Module):
    """One module called twice from a custom forward (traced through torch.fx)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The second call sees a smaller input: its own shapes and multiply-adds.
        return self.conv(self.pool(torch.relu(self.conv(x))))


class SharedResidual(nn.Module):
    """The same convolution on both paths of a residual block, and again after it."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn(self.conv(self.conv(x))) + self.conv(x)
        return self.bn(self.conv(y))


class SharedConcat(nn.Module):
    """A module on two branches of a concatenation, and a head used twice."""

    def __init__(self) -> None:
        super().__init__()
        self.branch = nn.Sequential(nn.Conv2d(3, 2, 1), nn.ReLU())
        self.other = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch(x), self.other(x), self.branch(x)], dim=1)


class Tied(nn.Module):
    """Two modules holding the same tensors (weight tying): one set of parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(6, 6)
        self.b = nn.Linear(6, 6)
        self.b.weight, self.b.bias = self.a.weight, self.a.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(torch.tanh(self.a(x)))


def _reused_twice() -> nn.Module:
    m = nn.Conv2d(8, 8, 3, padding=1)
    return nn.Sequential(m, nn.ReLU(), m)


def _registered_twice() -> nn.Module:
    inner = nn.Sequential(nn.Conv2d(2, 2, 3), nn.BatchNorm2d(2))
    return nn.Sequential(inner, nn.ReLU(), nn.Sequential(inner), nn.Flatten(),
                         nn.Linear(8, 3))


def _no_sharing() -> nn.Module:  # control: nothing is marked
    return nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1))


SHARING: list[tuple[str, Callable[[], nn.Module], tuple[int, ...], int]] = [
    # name, model, input shape, layers that reuse parameters
    ("sequential-reuse", _reused_twice, (8, 16, 16), 1),
    ("registered-twice", _registered_twice, (2, 6, 6), 2),
    ("fx-called-twice", CalledTwice, (4, 8, 8), 1),
    ("residual-both-paths", SharedResidual, (4, 6, 6), 4),
    ("concat-branches", SharedConcat, (3, 5, 5), 1),
    ("tied-weights", Tied, (6,), 1),
    ("no-sharing", _no_sharing, (8, 6, 6), 0),
]


def _flat(records: Any) -> list[Any]:
    return [x for r in records for x in (r, *_flat(r.children))]


@pytest.mark.parametrize(("make", "shape", "reused"), [row[1:] for row in SHARING],
                         ids=[row[0] for row in SHARING])
def test_shared_parameters_are_counted_once(
    make: Callable[[], nn.Module], shape: tuple[int, ...], reused: int
) -> None:
    """Shapes and the parameter total agree with torch, through every path symconv counts:
    the table, the compiled evaluator, the code written back, and `symconv check`."""
    model = make()
    expected = torch_outcome(model, shape)
    assert expected is not None
    network = symconv.from_torch(model, shape)
    assert symconv_outcome(network) == expected
    assert network.evaluator().params() == expected[1]
    assert network.totals()["params"] == expected[1]
    rows = _flat(network.table())
    assert sum(1 for r in rows if r.shared is not None and r.shared.reuse) == reused
    # The code written back uses one module per shared set, so torch counts it once too.
    namespace: dict[str, Any] = {}
    exec(network.to_torch_code(), namespace)
    assert torch_outcome(namespace["net"], shape) == expected
    assert torch_check.compare(network, {}).agrees
    # Symbolic sizes: the same count, and the same shapes once sizes are given.
    if len(shape) > 1:
        symbolic = symconv.from_torch(model, f"{shape[0]} x H x W")
        sizes = dict(zip(("H", "W"), shape[1:], strict=True))
        assert symconv_outcome(symbolic, **sizes) == expected
        assert symbolic.evaluator().params(**sizes) == expected[1]


def test_each_call_has_its_own_shapes_and_the_table_marks_the_reuse() -> None:
    network = symconv.from_torch(CalledTwice(), (4, 8, 8))
    first, _, _, second = network.table()
    assert (first.output_shape, second.output_shape) == ((4, 8, 8), (4, 4, 4))
    assert (first.params, second.params) == (148, 0)
    assert (first.macs, second.macs) == (4 * 8 * 8 * 36, 4 * 4 * 4 * 36)
    text = table_text(network, network.table())
    assert "  4   conv2d      4 x 4 x 4      reused        64" in text
    assert text.endswith("4 conv2d: reuses the parameters of 'conv' (row 1), counted there\n")
    assert '"shared": "conv",\n      "reused": true' in table_json(network, network.table())


@pytest.mark.parametrize(("make", "shape", "reused"), [row[1:] for row in SHARING],
                         ids=[row[0] for row in SHARING])
def test_derive_says_a_reused_layer_counts_nothing(
    make: Callable[[], nn.Module], shape: tuple[int, ...], reused: int
) -> None:
    """A top-level layer that reuses parameters has no formula, only `params = 0` and the
    layer it reuses (by the table's row label) in its title, in text, Markdown and LaTeX and in
    the notes; the layers' parameter lines add up to torch's count."""
    model = make()
    expected = torch_outcome(model, shape)
    assert expected is not None
    network = symconv.from_torch(model, shape)
    labels = {label: r for label, r in _labelled(network.table())}
    derivation = symconv.derive(network, "params")
    total = 0
    for layer in derivation.layers:
        record = labels[str(layer.index)]
        (step, *more) = [s for s in layer.steps if s.target.name == f"params_{layer.index}"] or [
            None]
        assert not more
        if record.shared is not None and record.shared.reuse:
            owner = labels[layer.reuses or ""]
            assert owner.shared == symconv.layers.Shared(record.shared.name)  # the first use
            assert layer.title.endswith(f"(reuses the parameters of layer {layer.reuses}, "
                                        "0 counted here)")
            assert step is not None and step.lines() == (0,)
        else:
            assert layer.reuses is None and "reuses" not in layer.title
        total += 0 if step is None else int(step.value)
    assert total == expected[1]
    shown = [layer for layer in derivation.layers if layer.reuses is not None]
    assert len(shown) == sum(1 for label, r in labels.items() if "." not in label and
                             r.shared is not None and r.shared.reuse)
    notes = notes_body(build_notes(network))
    headings = [line for line in notes.splitlines() if line.startswith("\\subsection*{")]
    for layer in shown:
        heading = f"Layer {layer.index}: {layer.title.split(': ', 1)[1]}"
        assert heading in str(derivation)
        assert escape_markdown(heading) in derivation._repr_markdown_()
        assert heading in derivation._repr_latex_()
        # the notes list a shape-keeping layer after it under one heading (Layers 4--5:
        # conv2d (reuses ...), relu): the heading that holds the layer says so
        said = f"{layer.kind} (reuses the parameters of layer {layer.reuses}, 0 counted here)"
        assert any(said in h and (f"Layer {layer.index}:" in h or f"Layers {layer.index}--" in h
                                  or f"--{layer.index}:" in h) for h in headings), headings


def _labelled(records: Any, parent: str = "") -> list[tuple[str, Any]]:
    rows = []
    for r in records:
        label = row_label(parent, r.index, r.path)
        rows += [(label, r), *_labelled(r.children, label)]
    return rows


def test_derive_of_a_reuse_inside_a_block_names_its_row() -> None:
    """SharedResidual: the convolution after the residual block reuses the one inside it."""
    derivation = symconv.derive(symconv.from_torch(SharedResidual(), (4, 6, 6)), "params")
    titles = [layer.title for layer in derivation.layers if layer.steps]
    assert titles == ["Layer 1: residual",
                      "Layer 2: conv2d (reuses the parameters of layer 1.a1, 0 counted here)",
                      "Layer 3: batchnorm2d (reuses the parameters of layer 1.a3, 0 counted here)"]


def test_to_torch_code_writes_a_shared_module_once() -> None:
    code = symconv.from_torch(_reused_twice(), (8, 16, 16)).to_torch_code()
    assert "shared1 = nn.Conv2d(8, 8, kernel_size=3, padding=1)\n" in code
    assert code.count("    shared1,  # -> 8 x 16 x 16") == 2


# ---------------------------------------------------------------- parameters never used


class AuxHead(nn.Module):
    """An auxiliary classifier called only in training (GoogLeNet, Inception), and a head
    defined but never called."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
        self.aux = nn.Sequential(nn.Flatten(), nn.Linear(4 * 6 * 6, 10), nn.Linear(10, 2))
        self.spare = nn.Conv2d(4, 4, 1)

    def forward(self, x: torch.Tensor) -> Any:
        x = self.features(x)
        if self.training:
            return self.aux(x)
        return x


class PartlyCalled(nn.Module):
    """Only the first layer of a Sequential is called; a tensor of the model is never used;
    a module that ties its weight to a called one is never called itself (its bias is
    unused, its weight is counted at the called module)."""

    def __init__(self) -> None:
        super().__init__()
        self.seq = nn.Sequential(nn.Linear(6, 6), nn.BatchNorm1d(6), nn.Linear(6, 3))
        self.scale = nn.Parameter(torch.ones(5))
        self.tied = nn.Linear(6, 6)
        self.tied.weight = self.seq[0].weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.seq[0](x)


def _unused_without_parameters() -> nn.Module:  # control: a module with no parameters
    model = nn.Sequential(nn.Conv2d(2, 2, 1))
    model.add_module("extra", nn.BatchNorm2d(2, affine=False))
    model.forward = lambda x: model[0](x)  # type: ignore[method-assign]
    return model


UNUSED: list[tuple[str, Callable[[], nn.Module], tuple[int, ...], list[tuple[str, int, bool]]]] = [
    # name, model (read in eval mode), input shape, (path, parameters, a module) not counted
    ("aux-head-in-eval", AuxHead, (3, 8, 8), [("aux", 1472, True), ("spare", 20, True)]),
    ("partly-called", PartlyCalled, (6,),
     [("seq.1", 12, True), ("seq.2", 21, True), ("scale", 5, False), ("tied.bias", 6, False)]),
    ("tied-and-called", Tied, (6,), []),
    ("shared-module", _registered_twice, (2, 6, 6), []),
    ("no-parameters-unused", _unused_without_parameters, (2, 3, 3), []),
]


@pytest.mark.parametrize(("make", "shape", "unused"), [row[1:] for row in UNUSED],
                         ids=[row[0] for row in UNUSED])
def test_parameters_the_forward_never_uses_are_named_not_counted(
    make: Callable[[], nn.Module], shape: tuple[int, ...], unused: list[tuple[str, int, bool]]
) -> None:
    """What symconv counts plus what it names as not counted is model.parameters(); the
    table (text, Markdown, JSON) and the comparison with torch say what is not counted."""
    model = make().eval()
    expected = torch_outcome(model, shape)
    assert expected is not None
    network = symconv.from_torch(model, shape)
    got = [(u.path, u.params, u.module) for u in network.unused_parameters]
    assert got == unused
    assert int(network.params()) + sum(n for _, n, _ in unused) == expected[1]
    paths = dict(model.named_modules())
    for path, n, module in unused:  # each path is the model's, with that many parameters
        if module:
            assert sum(p.numel() for p in paths[path].parameters()) == n
        else:
            assert model.get_parameter(path).numel() == n
    records = network.table()
    text, markdown = table_text(network, records), table_markdown(network, records)
    notes = [line for line in text.splitlines() if line.startswith("not counted")]
    assert notes == [
        f"not counted: '{p}' ({n:,} parameters) is never called by the forward" if module
        else f"not counted: the tensor '{p}' ({n:,} parameters) is never used by the forward"
        for p, n, module in unused]
    assert markdown.count("not counted") == len(unused)
    document = json.loads(table_json(network, records))
    assert document.get("not_counted", []) == [
        {"path": p, "params": n, "module": module} for p, n, module in unused]
    comparison = torch_check.compare(network, {})
    assert comparison.agrees
    assert [line for line in torch_check.report(comparison).splitlines()
            if line.startswith("not counted")] == notes
    assert network.bind({}).unused_parameters == network.unused_parameters


@pytest.mark.parametrize(("make", "shape", "unused"), [row[1:] for row in UNUSED],
                         ids=[row[0] for row in UNUSED])
def test_every_renderer_says_what_is_reused_and_what_is_not_counted(
    make: Callable[[], nn.Module], shape: tuple[int, ...], unused: list[tuple[str, int, bool]]
) -> None:
    """The LaTeX table, Jupyter's table and the notes say what the text table says: each
    layer whose parameters another counts is 'reused' (never 0), each parameter the forward
    never uses is named in a 'not counted' line."""
    network = symconv.from_torch(make().eval(), shape)
    records = network.table()
    text = table_text(network, records)
    expected = [line for line in text.splitlines() if line.startswith("not counted")]
    reused = [line.split()[1] for line in text.splitlines() if " reused " in line]
    renderings = {
        "latex": table_latex(network, records),
        "jupyter": network._repr_latex_(),
        "notes": notes_body(build_notes(network, {})),
    }
    for name, rendering in renderings.items():
        lines = rendering.splitlines()
        if name == "jupyter":  # notes are rows of the display, as math (see math_text)
            assert [line for line in lines if line.startswith("\\text{not counted")] == [
                math_text(line) + " \\\\" for line in expected], name
        else:
            assert [line for line in lines if line.startswith("not counted")] == [
                escape_text(line) for line in expected], name
        rows = [line for line in lines if "reused}" in line]
        assert [row.split(" & ")[1] for row in rows] == [
            ("\\text{" if name == "jupyter" else "\\texttt{") + kind + "}" for kind in reused
        ], name
    if make is _registered_twice:
        assert reused == ["conv2d", "batchnorm2d"]  # the control: this model reuses two


def test_a_single_unused_parameter_is_said_in_the_singular() -> None:
    model = nn.Sequential(nn.Linear(2, 2))
    model.register_parameter("gain", nn.Parameter(torch.ones(1)))
    network = symconv.from_torch(model)
    assert table_text(network, network.table()).endswith(
        "not counted: the tensor 'gain' (1 parameter) is never used by the forward\n")


class HalfTied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 4)
        self.b.weight = self.a.weight  # the biases stay separate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x))


class FunctionalReuse(nn.Module):
    """A module's weight used again through a function: a computation symconv does not read."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(self.conv(x), self.conv.weight, padding=1)


class ScaledByParameter(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) * self.scale


class OutputSize(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv2d(2, 2, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up(self.down(x), output_size=x.size())


def _hooked() -> nn.Module:
    conv = nn.Conv2d(3, 4, 3)
    conv.register_forward_hook(lambda module, inputs, output: output[:, :2])
    return nn.Sequential(nn.ReLU(), conv)


REFUSED: list[tuple[str, Callable[[], nn.Module], tuple[int, ...], str]] = [
    ("half-tied", HalfTied, (4,),
     "nn.Linear at 'b' shares some of its parameters with 'a', 'b' but not all; symconv reads "
     "parameters shared by whole modules"),
    ("functional-reuse", FunctionalReuse, (3, 6, 6),
     "the forward uses the tensor 'conv.weight' directly (in torch.conv2d); symconv reads "
     "parameters only through the layer modules that own them"),
    # A product with a parameter is a layer scale where the parameter has one value per
    # channel (C x 1 x 1); a single learned scalar is not.
    ("parameter-in-forward", ScaledByParameter, (3, 6, 6),
     "the product x * y in the forward multiplies by the parameter 'scale' of shape (1,); "
     "symconv reads a product with a parameter of one value per channel, of shape C x 1 x 1 "
     "(or 1 x C x 1 x 1), as a layer scale"),
    ("output-size", OutputSize, (2, 8, 8),
     "nn.ConvTranspose2d at 'up' is called with more than its input (output_size=...); "
     "symconv reads a layer applied to one tensor"),
    ("forward-hook", _hooked, (3, 8, 8),
     "nn.Conv2d at '1' has a forward hook; a hook may change what the module computes"),
    ("return-indices", lambda: nn.Sequential(nn.MaxPool2d(2, return_indices=True)), (3, 8, 8),
     "nn.MaxPool2d at '0' returns the indices of the maxima too (return_indices=True)"),
    ("lazy", lambda: nn.Sequential(nn.LazyConv2d(4, 3)), (3, 8, 8),
     "nn.LazyConv2d at '0' is a layer symconv does not model"),
]


@pytest.mark.parametrize(("make", "shape", "message"), [row[1:] for row in REFUSED],
                         ids=[row[0] for row in REFUSED])
def test_what_would_be_counted_wrong_is_refused_by_name(
    make: Callable[[], nn.Module], shape: tuple[int, ...], message: str
) -> None:
    with pytest.raises(symconv.UnsupportedError) as caught:
        symconv.from_torch(make(), shape)
    assert str(caught.value).startswith(message), str(caught.value)


def test_channels_are_read_from_the_weights_the_forward_uses() -> None:
    """An attribute changed after construction does not change what the forward computes."""
    conv = nn.Conv2d(3, 4, 3)
    conv.out_channels = 9
    linear = nn.Linear(5, 2)
    linear.in_features = 7
    for module, shape in ((conv, (3, 6, 6)), (nn.Sequential(linear), (5,))):
        assert symconv_outcome(symconv.from_torch(module, shape)) == torch_outcome(module, shape)


# ---------------------------------------------------------------- rejections


def _mutated(module: nn.Module, **changes: Any) -> nn.Module:
    """A module with attributes set after construction, where PyTorch checks only in forward."""
    for name, value in changes.items():
        setattr(module, name, value)
    return module


BN_ANY_CHANNELS = nn.BatchNorm2d(3, affine=False, track_running_stats=False)

# module, input shape, what symconv says (the rule, after the module's path); "" where
# PyTorch accepts.
REJECTIONS: list[tuple[nn.Module, tuple[int, ...], str]] = [
    (nn.Conv2d(1, 1, 1, padding=2, padding_mode="reflect"), (1, 2, 5),
     "padding_mode='reflect' needs the padding (2) smaller than the input H (2)"),
    (nn.Conv2d(1, 1, 1, padding=2, padding_mode="reflect"), (1, 3, 3), ""),
    (nn.Conv1d(1, 1, 4, padding="same", padding_mode="reflect"), (1, 2),
     "padding_mode='reflect' needs the padding (2) smaller than the input L (2)"),
    (nn.Conv1d(1, 1, 1, padding=3, padding_mode="circular"), (1, 2),
     "padding_mode='circular' needs the padding (3) at most the input L (2)"),
    (nn.Conv1d(1, 1, 1, padding=2, padding_mode="circular"), (1, 2), ""),
    (nn.Conv3d(1, 1, 1, padding=1, padding_mode="replicate"), (1, 1, 1, 1), ""),
    (_mutated(nn.Conv2d(2, 2, 3, padding="same"), stride=(2, 2)), (2, 5, 5),
     "padding='same' is not supported for strided convolutions (stride 2)"),
    (_mutated(nn.Conv2d(4, 4, 3, groups=2), groups=3), (4, 5, 5),
     "in_channels is declared as 6 but the input has 4"),
    (nn.Conv2d(4, 6, 1, groups=2), (5, 3, 3), "in_channels is declared as 4 but the input has 5"),
    (nn.ConvTranspose1d(1, 1, 3, stride=2, output_padding=2, dilation=2), (1, 4),
     "output_padding (2) must be smaller than either stride (2) or dilation (2)"),
    (nn.ConvTranspose1d(1, 1, 3, stride=2, output_padding=2, dilation=3), (1, 4), ""),
    (_mutated(nn.ConvTranspose1d(1, 1, 3), padding_mode="reflect"), (1, 4),
     "only padding_mode='zeros' is supported for a transposed convolution, not 'reflect'"),
    (nn.MaxPool2d(3, padding=2), (1, 8, 8),
     "padding (2) should be at most half of kernel size (3)"),
    (nn.MaxPool1d(3, 1, 2, dilation=2), (1, 9),
     "padding (2) should be at most half of kernel size (3)"),
    (nn.AvgPool1d(3, padding=2), (1, 9), "padding (2) should be at most half of kernel size (3)"),
    (nn.AvgPool2d(2, divisor_override=0), (1, 4, 4), "divisor_override must not be zero"),
    (nn.Conv2d(3, 8, 5), (3, 4, 9), "output H would be 0"),
    (nn.MaxPool1d(4), (1, 3), "output L would be 0"),
    (nn.ConvTranspose1d(1, 1, 1, padding=2), (1, 2), "output L would be -2"),
    (nn.AdaptiveAvgPool1d(0), (1, 5), "output_size must be at least 1, got 0"),  # torch: empty
    (nn.Linear(5, 2), (4,), "in_features is declared as 5 but the input has 4"),
    (nn.BatchNorm2d(3), (4, 2, 2), "num_features is declared as 3 but the input has 4"),
    (BN_ANY_CHANNELS, (4, 2, 2), ""),  # neither weight nor statistics: any channel count
]


def _rejection_id(row: tuple[nn.Module, tuple[int, ...], str]) -> str:
    module, shape, rule = row
    return f"{type(module).__name__}-{'x'.join(map(str, shape))}-{'raises' if rule else 'ok'}"


@pytest.mark.parametrize(("module", "shape", "rule"), REJECTIONS,
                         ids=[_rejection_id(r) for r in REJECTIONS])
def test_rejections_follow_torch(module: nn.Module, shape: tuple[int, ...], rule: str) -> None:
    expected = torch_outcome(module, shape)
    assert (expected is None) == bool(rule), "the table's verdict is not torch's"
    model = nn.Sequential(nn.Identity(), module)
    where = f"nn.{type(module).__name__} at '1'"
    if expected is not None:
        assert symconv_outcome(symconv.from_torch(model, shape)) == expected
        return
    with pytest.raises(symconv.SymconvError) as caught:
        symconv.from_torch(model, shape)
    assert str(caught.value).startswith(f"{where}: {rule}"), str(caught.value)


@pytest.mark.parametrize(
    ("build", "message"),
    [(lambda: nn.Conv2d(3, 4, 3, padding="same", stride=2),
      "padding='same' is not supported for strided convolutions"),
     (lambda: nn.Conv2d(4, 6, 3, groups=4), "out_channels must be divisible by groups"),
     (lambda: nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect"),
      'Only "zeros" padding mode is supported for ConvTranspose2d')],
    ids=["same-strided", "groups", "transposed-reflect"],
)
def test_torch_rejects_some_layers_at_construction(build: Callable[[], Any], message: str) -> None:
    """These never reach from_torch (the rows above reach them by changing attributes after
    construction); this pins that PyTorch still refuses them when built."""
    with pytest.raises(ValueError, match=message):
        build()


def test_symbolic_sizes_check_the_size_rules_when_numbers_are_given() -> None:
    """Imported without an input shape, a rule on the input's size (reflect padding shorter
    than the input) is checked when sizes are given, by the table and the evaluator alike,
    with the module's path in the message."""
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=3, padding_mode="reflect"))
    network = symconv.from_torch(model)
    assert str(network.input_shape) == "(1, H, W)"
    assert symconv_outcome(network, H=4, W=5) == torch_outcome(model, (1, 4, 5))
    assert torch_outcome(model, (1, 3, 5)) is None
    message = ("nn.Conv2d at '0', layer 1 (conv2d): padding_mode='reflect' needs the padding "
               "(3) smaller than the input H (3)")
    for evaluate in (lambda: network.table(H=3, W=5), lambda: network.evaluator()(H=3, W=5)):
        with pytest.raises(symconv.ShapeError) as caught:
            evaluate()
        assert str(caught.value) == message


# A grid drawn by Hypothesis: one layer (possibly after attributes changed) on a small input.

RANKS = st.integers(1, 2)


@st.composite
def layer_configs(draw: st.DrawFn) -> tuple[nn.Module, tuple[int, ...]]:
    rank = draw(RANKS)
    kind = draw(st.sampled_from(("conv", "convt", "maxpool", "avgpool")))
    size = st.integers(1, 6)
    shape_tail = tuple(draw(size) for _ in range(rank))
    k, s, p, d = (draw(st.integers(lo, hi)) for lo, hi in ((1, 4), (1, 3), (0, 3), (1, 3)))
    if kind == "conv":
        groups = draw(st.sampled_from((1, 2)))
        c_in = groups * draw(st.integers(1, 2)) + draw(st.sampled_from((0, 0, 0, 1)))
        mode = draw(st.sampled_from(("zeros", "reflect", "replicate", "circular")))
        padding: Any = draw(st.sampled_from((p, p, p, "same", "valid")))
        module: nn.Module = getattr(nn, f"Conv{rank}d")(
            groups * 2, groups, k, stride=1 if padding == "same" else s, padding=padding,
            dilation=d, groups=groups, padding_mode=mode)
        return module, (c_in, *shape_tail)
    if kind == "convt":
        op = draw(st.integers(0, 2))
        return (getattr(nn, f"ConvTranspose{rank}d")(2, 3, k, stride=s, padding=p,
                                                     output_padding=op, dilation=d),
                (2, *shape_tail))
    pool = getattr(nn, f"{'Max' if kind == 'maxpool' else 'Avg'}Pool{rank}d")
    extra = {"dilation": d} if kind == "maxpool" else {}
    return (pool(k, stride=draw(st.sampled_from((None, s))), padding=p,
                 ceil_mode=draw(st.booleans()), **extra), (2, *shape_tail))


@settings(max_examples=150, deadline=None)
@given(layer_configs())
@example((nn.Conv1d(2, 1, 4, padding="same", padding_mode="reflect"), (2, 2)))
@example((nn.Conv1d(2, 1, 1, padding=3, padding_mode="circular"), (2, 3)))
def test_random_layers_raise_where_torch_raises(config: tuple[nn.Module, tuple[int, ...]]) -> None:
    """For any layer and input: torch raises (or gives an empty output) exactly where
    from_torch raises, naming the module; elsewhere shapes and counts agree. The same holds
    for the import with symbolic sizes evaluated at the input's sizes."""
    module, shape = config
    expected = torch_outcome(module, shape)
    model = nn.Sequential(module)
    try:
        got: Outcome = symconv_outcome(symconv.from_torch(model, shape))
    except symconv.SymconvError as error:
        assert str(error).startswith(f"nn.{type(module).__name__} at '0': "), str(error)
        got = None
    assert got == expected
    names = ("H", "W") if len(shape) == 3 else ("L",)
    sizes = dict(zip(names, shape[1:], strict=True))
    try:  # a rule that the sizes do not decide is checked at import, the others here
        network = symconv.from_torch(model, " x ".join((str(shape[0]), *names)))
        evaluated: Outcome = symconv_outcome(network, **sizes)
    except symconv.SymconvError as error:
        assert f"nn.{type(module).__name__} at '0'" in str(error), str(error)
        evaluated = None
    assert evaluated == expected


# ---------------------------------------------------------------- subclasses


def _make(name: str) -> tuple[Callable[..., nn.Module], tuple[Any, ...], tuple[int, ...]]:
    """A way to build a torch.nn class symconv reads, its arguments, and an input for it."""
    cls = getattr(nn, name)
    rank = int(name[-2]) if name.endswith("d") and name[-2].isdigit() else 2
    spatial = (5,) * rank
    if name.startswith(("Conv", "ConvTranspose")):
        return cls, (2, 2, 1), (2, *spatial)
    if name.startswith(("MaxPool", "AvgPool")):
        return cls, (1,), (2, *spatial)
    if name.startswith("Adaptive"):
        return cls, (2,), (2, *spatial)
    if name.startswith("BatchNorm"):
        return cls, (2,), (2, *spatial)
    if name == "Linear":
        return cls, (2, 2), (2,)
    if name in ("Softmax", "LogSoftmax"):
        return cls, (1,), (2, 5, 5)
    if name.startswith(("InstanceNorm", "ZeroPad")):
        return cls, (2 if name.startswith("Instance") else 1,), (2, *spatial)
    if name.startswith("ConstantPad"):
        return cls, (1, 0.5), (2, *spatial)
    extra: dict[str, tuple[tuple[Any, ...], tuple[int, ...]]] = {
        "GroupNorm": ((2, 4), (4, 5, 5)), "LayerNorm": ((5,), (2, 5, 5)),
        "PixelShuffle": ((2,), (8, 3, 3)), "PixelUnshuffle": ((2,), (2, 4, 4)),
        "Upsample": ((None, 2), (2, 5, 5)), "ChannelShuffle": ((2,), (4, 5, 5)),
    }
    if name in extra:
        return cls, *extra[name]
    return cls, (), (2, *spatial)


TORCH_CLASSES = sorted(catalog.TORCH_NAMES)


@pytest.mark.parametrize("name", TORCH_CLASSES)
def test_a_subclass_that_only_configures_is_read_as_its_base(name: str) -> None:
    base, args, shape = _make(name)
    configured = type(f"My{name}", (base,), {
        "__init__": lambda self: base.__init__(self, *args),
        "extra_repr": lambda self: "configured",
    })
    expected = torch_outcome(base(*args), shape)
    assert symconv_outcome(symconv.from_torch(configured(), shape)) == expected


def _negated(self: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return -super(type(self), self).forward(x)


def _else(self: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return x[:, :1]


def _call(self: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return super(type(self), self).__call__(x)[:, :1]


def _changes_a_helper(name: str) -> dict[str, Any]:
    """A method other than forward that changes what the module computes."""
    if name.startswith("Conv") and "Transpose" not in name:
        return {"_conv_forward": lambda self, x, w, b: super(type(self), self)._conv_forward(
            x, w, b)[:, :1]}
    return {"__call__": _call}


@pytest.mark.parametrize("change", ["negated-forward", "other-forward", "helper"])
@pytest.mark.parametrize("name", TORCH_CLASSES)
def test_a_subclass_that_computes_is_refused_by_path_and_class(name: str, change: str) -> None:
    base, args, shape = _make(name)
    body = {"negated-forward": {"forward": _negated}, "other-forward": {"forward": _else},
            "helper": _changes_a_helper(name)}[change]
    subclass = type(f"My{name}", (base,), body)
    module = subclass(*args)
    for model, path in ((nn.Sequential(nn.Identity(), module), "1"), (module, "0")):
        with pytest.raises(symconv.UnsupportedError) as caught:
            symconv.from_torch(model, shape)
        assert f"'{path}' (My{name})" in str(caught.value) or (
            f"My{name} (a subclass of nn.{name}) at '{path}'" in str(caught.value)), \
            str(caught.value)


class WithANewMethod(nn.Conv3d):
    """torchvision's Conv3DSimple: a static method of a new name, which the base's forward
    never calls (the model's constructor reads it)."""

    @staticmethod
    def get_downsample_stride(stride: int) -> tuple[int, int, int]:
        return 1, stride, stride


def test_a_subclass_that_adds_a_method_of_a_new_name_is_read_as_its_base() -> None:
    module = WithANewMethod(2, 3, 1)
    network = symconv.from_torch(module, (2, 3, 4, 4))
    assert [r.kind for r in network.table()] == ["conv3d"]
    assert symconv_outcome(network) == torch_outcome(module, (2, 3, 4, 4))


class MySequential(nn.Sequential):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x)[:, :1]


class MyReLU(nn.ReLU):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)  # what the base computes: read through its forward


def test_containers_and_subclasses_are_traced_into() -> None:
    with pytest.raises(symconv.UnsupportedError) as caught:
        symconv.from_torch(nn.Sequential(MySequential(nn.Conv2d(2, 3, 1))), (2, 4, 4))
    assert str(caught.value).startswith(
        "_operator.getitem in the forward of '0' (MySequential) is not something symconv reads")
    network = symconv.from_torch(nn.Sequential(nn.Conv2d(2, 3, 1), MyReLU()), (2, 4, 4))
    assert [r.kind for r in network.table()] == ["conv2d", "relu"]
