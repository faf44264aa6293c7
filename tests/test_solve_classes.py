"""Classes of solver bugs a hostile review found, each hunted by a table of questions and a
brute-force oracle: the unknown enumerated, the network run forward with the numbers
(`Network.output_shape`, PyTorch's rules included), and the solver's set compared.

- a symbolic channel count is no symbolic size (the unroll limit counts spatial sizes);
- a value that is no whole number is refused by every entry point as `table` refuses it;
- a repeat count moves the output one way when each pass does (never "both ways" wrongly);
- ceil-mode questions get an answer or a message naming the layer, never SymPy's classes;
- a factor K - 1 (K >= 1) is known not to be negative: a dilation is solved for.
"""

from __future__ import annotations

import itertools
import random
import re

import pytest
import sympy
from test_robustness import run  # the one way the tests call the command line

from symconv import NoSolutionError, SymconvError, parse, solve
from symconv.render.solution import solution_latex, solution_text
from symconv.solve.walk import direction

GRID = 60  # brute force examines the unknown from its least value up to this


def outputs(net, name: str, value: int, **others: int) -> tuple[int, ...] | None:
    """The spatial output with name = value (the other symbols `others`), or None where the
    network rejects it."""
    try:
        shape = net.output_shape(**{name: value}, **others)[1:]
    except SymconvError:
        return None
    return tuple(int(v) for v in shape)


def brute(net, name: str, target: tuple[int, ...], least: int, high: int = GRID,
          **others: int) -> list[int]:
    return [v for v in range(least, high + 1) if outputs(net, name, v, **others) == target]


def agrees(solution, net, name: str, target: tuple[int, ...], least: int,
           high: int = GRID) -> None:
    """The solver's set, cut to [least, high], is the brute-force set; an unbounded set
    holds beyond the grid too; an incomplete search says so."""
    expected = brute(net, name, target, least, high)
    if solution.empty:
        assert expected == [] or not solution.complete, (solution.reason, expected)
        return
    if solution.values is not None:
        assert [v for v in solution.values if v <= high] == expected, solution.reason
    else:
        assert solution.high == sympy.oo
        assert expected == list(range(int(solution.low), high + 1)), solution.reason
        assert outputs(net, name, high + 7) == target


# ---------------------------------------------------------------- channels are not sizes


CHANNELS = [
    # (text, the repeat count's symbol, targets): more than 32 strided layers unrolled
    ("input C x 100000000000\nrepeat L { conv 4 k=3 s=2 p=1 }", "L", (1, 2, 3, 12)),
    ("input C x 5000 x 7000\nrepeat L { conv C k=3 s=2 p=1 }", "L", (1, 2)),
    ("input C x 10000000000000\nrepeat L { maxpool k=2 s=2 }\nconv 8 k=1", "L", (1, 2, 5)),
    ("input C x 3000000000000\nrepeat L { conv 4 k=3 s=2 p=1\nconv 4 k=3 p=1 }", "L", (1, 3)),
]


@pytest.mark.parametrize(("text", "name", "targets"), CHANNELS)
def test_symbolic_channels_do_not_count_as_symbolic_sizes(text, name, targets):
    net = parse(text)
    for target in targets:
        agrees(solve(net, name, target), net, name, (target,) * (len(net.input_shape) - 1), 1)
    # The same network with the count written as a number past 32 strided passes: traced,
    # channels left a symbol, and the sizes those of any channel count.
    written = parse(text.replace("repeat L", "repeat 40"))
    shape = written.output_shape()
    assert sympy.sympify(shape[0]).free_symbols <= {sympy.Symbol("C", integer=True,
                                                                 positive=True)}
    assert tuple(shape[1:]) == tuple(written.output_shape(C=3)[1:])
    assert len(written.table()) == len(written.layers)


def test_symbolic_spatial_sizes_still_meet_the_unroll_limit():
    code, _, err = run(["table", "-e", "input C x W\nrepeat 33 { conv 4 k=3 s=2 p=1 }"])
    assert code == 2
    assert "repeat 33: unrolled on symbolic sizes, it would apply 33 strided layers" in err


# ---------------------------------------------------------------- whole numbers


WHOLE = [
    # (text, the symbol given a fraction, the unknown, its target)
    ("input 3 x W\nconv 8 k=K s=2 p=P", "K", "P", 10),
    ("input 3 x W\nconv 8 k=K s=2 p=P", "K", "W", 10),
    ("input 3 x W\nconv 8 k=3 s=S p=P", "S", "W", 10),
    ("input 3 x W\nconv 8 k=3 s=2 p=P", "P", "W", 10),
    ("input 3 x W\nconv 8 k=3 d=D p=P", "D", "P", 10),
    ("input 3 x W\nmaxpool k=K s=2 ceil", "K", "W", 4),
    ("input 3 x W\nconvt 8 k=3 s=2 op=Q", "Q", "W", 9),
    ("input 3 x H\nconv 8 k=3\nconv 8 k=K", "K", "H", 5),
    ("input 3 x W\nconv 8 k=2*K", "K", "W", 3),
]


@pytest.mark.parametrize(("text", "name", "unknown", "target"), WHOLE)
@pytest.mark.parametrize("fraction", ["2.5", "7/2", "1/3"])
def test_every_entry_point_refuses_a_fraction_as_table_does(text, name, unknown, target,
                                                            fraction):
    given = ["--set", f"{name}={fraction}"]
    code, _, refused = run(["table", "-e", text, *given])
    assert code == 2 and refused.startswith("symconv: error: ")
    # the rule broken and the value that broke it, named as table names them
    assert f"{name} = " in refused and "whole number" in refused
    for argv in (["solve", "-e", text, *given, "--for", unknown, "--target", str(target)],
                 ["solve", "-e", text, *given, "--aligned"]):
        assert run(argv)[::2] == (2, refused), argv
    with pytest.raises(SymconvError) as error:
        solve(parse(text), unknown, target, **{name: fraction})
    assert f"symconv: error: {error.value}\n" == refused


# ---------------------------------------------------------------- repeat counts


REPEATS = [
    # (text, targets); the count L is the unknown
    ("input 3 x 1000\nrepeat L { conv 4 k=3 s=2 p=1 }", (1, 2, 4, 7, 500)),
    ("input 3 x 100\nrepeat L { conv 4 k=3 }", (2, 4, 3, 99)),
    ("input 3 x 10\nrepeat L { convt 4 k=3 }", (12, 20, 21)),
    ("input 3 x 10\nrepeat L { convt 4 k=3 s=2 p=1 }", (19, 37, 38)),
    ("input 3 x 10\nrepeat L { conv 4 k=3 p=1 }\nconv 3 k=3", (8, 9)),
    ("input 3 x 300\nrepeat L { maxpool k=3 s=2 p=1\nconv 4 k=1 }", (1, 2, 38)),
    ("input 3 x 40 x 50\nrepeat L { conv 4 k=3 s=2 p=1 }", ((3, 4), (1, 1), (2, 2))),
    ("input 3 x 40 x 50\nrepeat L { conv 4 k=(3, 1) p=(0, 1) }", ((36, 52), (34, 54))),
    ("input 3 x 64\nrepeat L { upsample scale=2\nmaxpool k=2 s=2 }", (64, 63)),
    ("input 3 x 33\nrepeat L { pad (1, 0)\nmaxpool k=2 s=2 }", (1, 17, 9, 2)),
]


@pytest.mark.parametrize(("text", "targets"), REPEATS)
def test_repeat_counts_against_brute_force(text, targets):
    net = parse(text)
    rank = len(net.input_shape) - 1
    L = sympy.Symbol("L", integer=True, positive=True)
    seen = [outputs(net, "L", v) for v in range(1, GRID + 1)]
    # The direction the solver uses is never contradicted by the numbers.
    moves = direction(net, L)
    pairs = list(itertools.pairwise((-1,) * rank if s is None else s for s in seen))
    if moves == -1:  # an empty output is the least of all
        assert all(all(b <= a for a, b in zip(x, y, strict=True)) for x, y in pairs), seen
    elif moves == 1:
        assert all(all(b >= a for a, b in zip(x, y, strict=True)) for x, y in pairs), seen
    elif moves == 0:
        assert len(set(seen)) == 1, seen
    for target in targets:
        goal = target if isinstance(target, tuple) else (target,) * rank
        solution = solve(net, "L", goal)
        assert "both grows and shrinks" not in solution.reason
        agrees(solution, net, "L", goal, 1)


@pytest.mark.parametrize(("text", "moves"), [
    ("input 3 x 1000\nrepeat L { conv 4 k=3 s=2 p=1 }", -1),
    ("input 3 x 100\nrepeat L { conv 4 k=3 }", -1),
    ("input 3 x 10\nrepeat L { convt 4 k=3 }", 1),
    ("input 3 x 10\nrepeat L { conv 4 k=3 p=1 }", 0),
    ("input 3 x 10 x 10\nrepeat L { conv 4 k=(3, 1) p=(0, 1) }", None),
    ("input 3 x 10\nrepeat L { conv 4 k=3 p=5 s=2 }", None),  # grows below 8, shrinks above
])
def test_a_pass_that_moves_one_way_gives_the_count_that_direction(text, moves):
    assert direction(parse(text), sympy.Symbol("L", integer=True, positive=True)) == moves


def test_a_count_past_what_symconv_unrolls_is_said_to_be_cut_off():
    solution = solve("input 3 x 1000000\nrepeat L { conv 4 k=3 }", "L", 2)
    assert solution.empty and not solution.complete
    assert "no L up to 10000 (the passes symconv unrolls) gives 2" in solution.reason


# ---------------------------------------------------------------- ceil mode


CEIL = [
    # (text, unknown, least, values of the others for the numeric question)
    ("input 3 x W\nmaxpool k=K s=S p=P ceil", "W", 1, {"K": 3, "S": 2, "P": 1}),
    ("input 3 x W\nmaxpool k=K s=S p=P ceil", "W", 1, {"K": 2, "S": 3, "P": 0}),
    ("input 3 x W\nmaxpool k=K s=S p=P ceil", "K", 1, {"W": 20, "S": 2, "P": 0}),
    ("input 3 x W\nmaxpool k=K s=S p=P ceil", "K", 1, {"W": 13, "S": 4, "P": 1}),
    ("input 3 x W\nmaxpool k=K s=S p=P ceil", "S", 1, {"W": 20, "K": 3, "P": 1}),
    ("input 3 x W\nmaxpool k=K s=S p=P ceil", "S", 1, {"W": 7, "K": 2, "P": 1}),
    ("input 3 x W\nmaxpool k=K s=S p=P ceil", "P", 0, {"W": 11, "K": 5, "S": 3}),
    ("input 3 x W\nconv 4 k=3\nmaxpool k=3 s=2 ceil\nmaxpool k=K s=S ceil", "S", 1,
     {"W": 40, "K": 2}),
]


@pytest.mark.parametrize(("text", "name", "least", "others"), CEIL)
def test_ceil_mode_numeric_questions_against_brute_force(text, name, least, others):
    net = parse(text).bind(others)
    for target in sorted({o[0] for v in range(least, 25)
                          if (o := outputs(net, name, v)) is not None} | {1, 2, 3}):
        agrees(solve(net, name, target), net, name, (target,), least, 40)


@pytest.mark.parametrize(("text", "name", "least", "others"), CEIL)
@pytest.mark.parametrize("left", [0, 1, 2])
def test_ceil_mode_symbolic_questions_answer_or_name_the_layer(text, name, least, others,
                                                               left):
    """With some of the other symbols left as symbols (and the target a symbol O): either
    an answer that brute force confirms at random points, or a message that names the
    ceil-mode layer and its rule, never SymPy's classes."""
    keep = sorted(others)[left:left + 1]
    given = {k: v for k, v in others.items() if k not in keep}
    net = parse(text)
    try:
        solution = solve(net, name, "O", **given)
    except NoSolutionError as error:
        said = str(error)
        assert "Piecewise" not in said and "no rule for" not in said, said
        assert "ceil_mode in layer " in said and "maxpool1d" in said, said
        return
    rng = random.Random(f"{text}{name}{left}")
    for _ in range(15):
        values = {**given, **{k: rng.randint(1 if k != "P" else 0, 6) for k in keep},
                  "O": rng.randint(1, 8)}
        bound = net.bind({k: v for k, v in values.items() if k != "O"})
        expected = brute(bound, name, (values["O"],), least, 40)
        shown = [v for v in range(least, 41)
                 if solution.contains(v, **{k: v2 for k, v2 in values.items() if k != name
                                            and k not in given})]
        assert shown == expected, values


def test_refusals_of_closed_forms_never_show_sympy_classes():
    for text, name in [("input 3 x W\nmaxpool k=2 s=3 ceil", "W"),
                       ("input 3 x W\nmaxpool k=K s=S ceil", "K"),
                       ("input 3 x 11\nmaxpool k=3 s=S p=P ceil", "P")]:
        code, _, err = run(["solve", "-e", text, "--for", name, "--target", "O"])
        assert code in (0, 1) or ("ceil_mode in layer 1, maxpool1d" in err
                                  and "Piecewise" not in err), err


# ---------------------------------------------------------------- K - 1 is not negative


DILATION = [
    ("input 1 x W\nconv 8 k=K d=D", 10, {"W": (1, 60), "K": (1, 6)}),
    ("input 1 x 64\nconv 8 k=K d=D", 10, {"K": (1, 12)}),
    ("input 1 x W\nconv 8 k=K s=2 d=D", "O", {"W": (1, 60), "K": (1, 6), "O": (1, 20)}),
    ("input 1 x W\nconv 8 k=K p=2 d=D", "O", {"W": (1, 40), "K": (1, 6), "O": (1, 40)}),
    ("input 1 x W\nconv 8 k=3 d=D", "O", {"W": (1, 60), "O": (1, 40)}),
]


@pytest.mark.parametrize(("text", "target", "ranges"), DILATION)
def test_a_dilation_is_solved_for_whatever_the_kernel(text, target, ranges):
    net = parse(text)
    solution = solve(net, "D", target)
    for shown in (solution_latex(solution), solution_text(solution)):
        assert not {"Infinity", "Piecewise", "zoo", "nan"} & set(re.findall(r"\w+", shown))
    rng = random.Random(text)
    points = [{n: rng.randint(*r) for n, r in ranges.items()} for _ in range(40)]
    points += [{**p, "K": 1} for p in points[:5] if "K" in p]  # D acts on nothing
    for values in points:
        want = values.get("O", target)
        bound = net.bind({k: v for k, v in values.items() if k != "O"})
        expected = brute(bound, "D", (int(want),), 1, 40)
        shown = [v for v in range(1, 41) if solution.contains(v, **values)]
        assert shown == expected, values
