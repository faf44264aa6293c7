"""The solver against brute force: for random layers and networks, the solutions are exactly
the values in a bounded grid for which the network (traced by `Network.output_shape`, with
PyTorch's rules) has the target size, no more and no less; symbolic intervals agree with
brute force once numbers are substituted."""

from __future__ import annotations

import random

import pytest
import sympy
import torch
import torch.nn.functional as F

from symconv import NoSolutionError, SymconvError, UnknownNameError, parse
from symconv.algebra.symbols import symbol
from symconv.solve.solution import solve

GRID = 40  # brute force examines the unknown from its least value up to this

torch.set_num_threads(1)  # tensors of a few elements: one thread is fastest


def outputs(net, name, value):
    """The spatial output with name = value, or None where the network rejects it."""
    try:
        return tuple(int(v) for v in net.output_shape(**{name: value})[1:])
    except SymconvError:
        return None


def grid(net, name, least, high=GRID):
    """Brute force: {value: output} over the grid, from the network as traced."""
    return {v: outputs(net, name, v) for v in range(least, high + 1)}


def brute(net, name, target, least, high=GRID):
    return [v for v, o in grid(net, name, least, high).items() if o == target]


def check(text, name, target, least, high=GRID, seen=None):
    """The solver's set, cut to [least, high], is the brute-force set (`seen`, {value:
    output}, or else the network as traced); every listed solution substitutes back into the
    network; an unbounded set holds far beyond the grid too."""
    net = parse(text)
    solution = solve(net, name, target)
    seen = grid(net, name, least, high) if seen is None else seen
    expected = [v for v, o in seen.items() if o == target]
    if solution.empty:
        assert expected == [], (text, solution.reason)
        assert solution.reason
        return solution
    # Only a search limited to 0..SEARCH_LIMIT (ceil-mode pooling's stride) is incomplete.
    assert solution.complete or "was searched" in solution.reason
    if solution.values is not None:
        assert [v for v in solution.values if v <= high] == expected, text
        beyond = [v for v in solution.values if v > high]
        assert all(outputs(net, name, v) == target for v in beyond[:3] + beyond[-3:])
    else:
        assert solution.high == sympy.oo
        low = int(solution.low)
        assert expected == list(range(low, high + 1)), text
        assert all(outputs(net, name, v) == target for v in (high + 1, 10 * high, 10**6))
    return solution


# ---------------------------------------------------------------- single layers


LAYERS = {"conv": "conv 1", "maxpool": "maxpool", "maxpool_ceil": "maxpool ceil_mode=true",
          "avgpool": "avgpool", "convtranspose": "convt 1"}


def random_layer(rng: random.Random) -> tuple[str, dict, int]:
    """A 1-D layer (kind, {n, k, s, p, d, op} with one of them the unknown "X"), and X's least
    value."""
    kind = rng.choice(["conv", "conv", "maxpool", "maxpool_ceil", "avgpool", "convtranspose"])
    k, s, d = rng.randint(1, 7), rng.randint(1, 5), rng.randint(1, 3)
    p = rng.randint(0, k // 2) if "pool" in kind else rng.randint(0, 4)
    params = {"n": rng.randint(1, 40), "k": k, "s": s, "p": p}
    if kind != "avgpool":
        params["d"] = d
    if kind == "convtranspose":
        params["op"] = rng.randint(0, max(s, d) - 1)
    unknown = rng.choice(list(params))
    params[unknown] = "X"
    return kind, params, 0 if unknown in ("p", "op") else 1


def layer_text(kind: str, params: dict) -> str:
    args = " ".join(f"{key}={value}" for key, value in params.items() if key != "n")
    return f"input 1 x {params['n']}\n{LAYERS[kind]} {args}"


def torch_output(kind: str, params: dict, value: int):
    """PyTorch's output length with X = value, or None where PyTorch refuses."""
    q = {key: value if v == "X" else v for key, v in params.items()}
    x = torch.zeros(1, 1, q["n"])
    try:
        if kind == "conv":
            y = F.conv1d(x, torch.zeros(1, 1, q["k"]), stride=q["s"], padding=q["p"],
                         dilation=q["d"])
        elif kind == "convtranspose":
            y = F.conv_transpose1d(x, torch.zeros(1, 1, q["k"]), stride=q["s"], padding=q["p"],
                                   output_padding=q["op"], dilation=q["d"])
        elif kind == "avgpool":
            y = F.avg_pool1d(x, q["k"], q["s"], q["p"])
        else:
            y = F.max_pool1d(x, q["k"], q["s"], q["p"], q["d"], ceil_mode=kind == "maxpool_ceil")
    except RuntimeError:
        return None
    return (y.shape[-1],) if y.shape[-1] >= 1 else None


@pytest.mark.parametrize("seed", range(7))
def test_single_layers_match_pytorch_brute_force(seed):
    rng = random.Random(seed)
    for _ in range(150):
        kind, params, least = random_layer(rng)
        seen = {v: torch_output(kind, params, v) for v in range(least, GRID + 1)}
        # Mostly targets that some value reaches; sometimes any size at all.
        reached = [o for o in seen.values() if o is not None]
        target = rng.choice(reached) if reached and rng.random() < 0.8 else (rng.randint(1, 60),)
        check(layer_text(kind, params), "X", target, least, seen=seen)


# ---------------------------------------------------------------- networks


def random_network(rng: random.Random) -> tuple[str, int]:
    """A 2-D network of 2-4 layers; the unknown X is the input size, or a parameter that
    appears in one or several layers."""
    role = rng.choice(["input", "padding", "stride", "kernel", "dilation"])
    lines = ["input 1 x X x X" if role == "input" else f"input 1 x {rng.randint(24, 64)} x W"]
    for _ in range(rng.randint(2, 4)):
        k, s, p, d = rng.randint(1, 5), rng.randint(1, 3), rng.randint(0, 2), rng.randint(1, 2)
        spot = {"padding": "p", "stride": "s", "kernel": "k", "dilation": "d"}.get(role)
        values = {"k": k, "s": s, "p": p, "d": d}
        if spot is not None and rng.random() < 0.6:
            values[spot] = "X"
        kind = rng.choice(["conv 4", "conv 4", "maxpool", "convt 4"])
        if kind == "maxpool":
            values["p"] = min(values["p"], 1) if values["p"] != "X" else "X"
            values["k"] = max(values["k"], 2) if values["k"] != "X" else "X"
        lines.append(f"{kind} " + " ".join(f"{key}={v}" for key, v in values.items()))
    text = "\n".join(lines)
    if "X" not in text:
        text = text.replace("p=0", "p=X", 1) if "p=0" in text else text.replace("k=", "k=X+", 1)
    text = text.replace(" x W", f" x {rng.randint(24, 64)}")
    return text, 0 if role == "padding" and "p=X" in text and "k=X" not in text else 1


@pytest.mark.parametrize("seed", range(4))
def test_networks_match_brute_force(seed):
    rng = random.Random(1000 + seed)
    for _ in range(25):
        text, _ = random_network(rng)
        least = 0 if all(("p=X" in line) or "X" not in line for line in text.splitlines()[1:]) \
            and "input 1 x X" not in text else 1
        high = GRID if "input 1 x X" not in text else 96
        seen = grid(parse(text), "X", least, high)
        reached = [o for o in seen.values() if o is not None]
        target = rng.choice(reached) if reached else (rng.randint(1, 30),) * 2
        check(text, "X", target, least, high, seen=seen)


RESNET_STEM = """input 3 x W x W
conv 64 k=7 s=2 p=3
maxpool k=3 s=2 p=1
conv 128 k=3 s=2 p=1
conv 256 k=3 s=2 p=1
conv 512 k=3 s=2 p=1
"""


@pytest.mark.parametrize(
    ("text", "name", "target", "least", "high"),
    [
        (RESNET_STEM, "W", (7, 7), 1, 400),
        (RESNET_STEM.replace("p=3", "p=P").replace("x W x W", "x 224 x 224"), "P", (7, 7), 0,
         GRID),
        ("input 3 x 224 x 224\nconv 8 k=3 s=S p=1\nconv 8 k=3 s=S p=1", "S", (1, 1), 1, 300),
        ("input 3 x 224 x 224\nconv 8 k=3 s=S p=1\nconv 8 k=3 s=S p=1", "S", (2, 2), 1, 300),
        ("input 3 x 64 x 64\nconv 8 k=K p=P\nconvt 8 k=4 s=2 p=1", "P", (130, 130), 0,
         GRID),
        ("input 3 x 32 x 32\nconv 8 k=3 s=2 p=1\nconvt 8 k=3 s=2 p=1 op=X", "X",
         (32, 32), 0, 5),
        ("input 3 x 32 x 32\nrepeat 2 { conv 8 k=3 s=2 p=P }", "P", (8, 8), 0, GRID),
        ("input 3 x X x X\nconv 8 k=3 p=1\nadaptive_avgpool 7", "X", (7, 7), 1, 100),
        # Not monotone in X: the search enumerates (every even kernel keeps 32 + 1).
        ("input 3 x 32 x 32\nconv 8 k=X p=X//2", "X", (33, 33), 1, GRID),
        ("input 3 x 64 x 64\nrepeat X { conv 8 k=3 s=2 p=1 }", "X", (4, 4), 1, 12),
        # The shortcut's size agrees with the body's only for even inputs.
        ("input 3 x X x X\nconv 8 k=3 p=1\nresidual { conv 8 k=2 s=2 } shortcut { conv 8 k=1 "
         "s=2 }\nresidual { conv 8 k=2 s=2 } shortcut { conv 8 k=1 s=2 }", "X", (7, 7), 1, 80),
        ("input 3 x X x X\nconcat { conv 8 k=3 s=2 p=1 } { maxpool k=2 }", "X", (5, 5), 1, 40),
    ],
)
def test_known_networks_match_brute_force(text, name, target, least, high):
    # The K of the fifth row is the kernel, bound here by solving for P alone.
    check(text.replace("k=K", "k=5"), name, target, least, high)


def test_stride_four_padding_has_two_solutions():
    solution = check("input 1 x 224\nconv 1 k=7 s=4 p=X", "X", (55,), 0)
    assert solution.values == (0, 1)


def test_any_large_stride_gives_one():
    solution = check("input 1 x 224\nconv 1 k=7 s=X p=3", "X", (1,), 1, 300)
    assert (solution.low, solution.high, solution.values) == (224, sympy.oo, None)


# ---------------------------------------------------------------- symbolic intervals


SYMBOLIC = [
    # (text, unknown, target, the other symbols and their random ranges)
    ("input 1 x W\nconv 1 k=K s=S p=P", "P", "O", {"W": (1, 40), "K": (1, 7), "S": (1, 5),
                                                    "O": (1, 30)}),
    ("input 1 x W\nconv 1 k=K s=S p=P", "W", "O", {"P": (1, 4), "K": (1, 7), "S": (1, 5),
                                                    "O": (1, 30)}),
    ("input 1 x W\nconv 1 k=K s=S p=P", "K", "O", {"W": (1, 40), "P": (1, 4), "S": (1, 5),
                                                    "O": (1, 30)}),
    ("input 1 x W\nconv 1 k=K s=S p=P d=D", "P", 5, {"W": (1, 40), "K": (1, 7), "S": (1, 5),
                                                      "D": (1, 3)}),
    ("input 1 x W\nconv 1 k=K s=S p=P", "S", 3, {"W": (1, 40), "K": (1, 7), "P": (1, 4)}),
    ("input 1 x W\nconvt 1 k=K s=S p=P", "W", "O", {"P": (1, 3), "K": (1, 7),
                                                             "S": (1, 5), "O": (1, 40)}),
]


@pytest.mark.parametrize(("text", "name", "target", "ranges"), SYMBOLIC)
def test_symbolic_interval_agrees_with_brute_force(text, name, target, ranges):
    net = parse(text)
    solution = solve(net, name, target)
    assert solution.values is None and solution.low is not None
    rng = random.Random(text)
    least = 0 if name == "P" else 1
    for _ in range(40):
        values = {n: rng.randint(*r) for n, r in ranges.items()}
        subs = {symbol(n): v for n, v in values.items()}
        low, high = (sympy.sympify(e).xreplace(subs) for e in (solution.low, solution.high))
        want = values.pop("O", target)
        bound = net.bind(values)
        expected = brute(bound, name, (int(want),), least, 80)
        if high == sympy.oo:
            assert expected == list(range(int(low), 81))
        else:
            assert expected == [v for v in range(int(low), int(high) + 1) if v <= 80]


def test_issue_example_padding_interval():
    solution = solve("input 3 x W x W\nconv 64 k=K s=S p=P", "P", "O")
    W, K, S, T = map(symbol, "WKSO")
    assert solution.high == sympy.floor(sympy.together((S * T - 1 - W + K) / 2))
    assert solution.low == sympy.Max(0, sympy.ceiling(sympy.together((S * (T - 1) - W + K) / 2)))


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "name", "target", "values", "error", "message"),
    [
        ("input 1 x 9\nconv 1 k=3 p=P", "Q", 9, {}, UnknownNameError, "unknown symbol 'Q'"),
        ("input 1 x 9\nconv 1 k=3 p=P", "P", 9, {"P": 1}, NoSolutionError, "is the unknown"),
        ("input 1 x 9\nconv 1 k=3 p=P", "P", "9x9", {}, NoSolutionError, "1 spatial axes"),
        ("input 1 x 9\nconv 1 k=3 p=P", "P", 0, {}, NoSolutionError, "positive integer"),
        ("input 1 x W\nconv 1 k=3 s=S\nconv 1 k=3 s=S", "S", 4, {}, NoSolutionError,
         "cannot be solved in closed form while W is a symbol"),
        ("input 1 x 9\nflatten\nlinear 3", "X", 4, {}, UnknownNameError, "unknown symbol"),
        ("input 1 x 9\nconv C k=3", "C", 7, {}, NoSolutionError, "'C' does not decide"),
        ("input 1 x 9\nconv 2 k=3 p=P\nflatten", "P", 7, {}, NoSolutionError,
         "no spatial axes"),
    ],
)
def test_errors_say_what_is_wrong(text, name, target, values, error, message):
    with pytest.raises(error, match=message):
        solve(text, name, target, **values)


def test_no_solution_says_why():
    solution = solve("input 1 x 10\nconv 1 k=3 s=2 p=P", "P", 3)
    assert solution.empty and solution.values == ()
    assert "no integer P gives 3: P = 0 already gives 4" in solution.reason


# ---------------------------------------------------------------- renderings


def test_renderings_of_each_kind_of_answer():
    from symconv.render.solution import solution_dict, solution_latex, solution_text

    one = solve("input 3 x 224 x 224\nconv 8 k=7 s=2 p=P", "P", 112)
    many = solve("input 3 x 224 x 224\nconv 8 k=7 s=4 p=P", "P", 55)
    endless = solve("input 3 x 224 x 224\nconv 8 k=7 s=S p=3", "S", 1)
    symbolic = solve("input 3 x W x W\nconv 8 k=K s=S p=P", "P", "O")
    none = solve("input 3 x 10 x 10\nconv 8 k=3 s=2 p=P", "P", 3)
    assert [solution_text(x).splitlines()[0] for x in (one, many, endless, none)] == [
        "P = 3", "P in 0..1", "S >= 224",
        "no solution: no integer P gives 3 x 3: P = 0 already gives 4 x 4"]
    assert solution_text(symbolic).splitlines()[0] == (
        "Max(0, ceiling((K + S*(O - 1) - W)/2)) <= P <= floor((K + O*S - W - 1)/2)")
    assert solution_dict(none) | {"equations": [], "inequalities": []} == {
        "unknown": "P", "solutions": [], "interval": None, "reason": none.reason,
        "complete": True, "equations": [], "inequalities": [], "conditions": [],
        "isolated": [], "cases": []}
    assert solution_dict(many)["inequalities"] == ["216 <= 2*P + 217 <= 219"]
    latex = solution_latex(symbolic)
    assert "\\left\\lfloor" in latex and "\\le P \\le" in latex
    assert "\\emptyset" in solution_latex(none)
