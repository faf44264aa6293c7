"""A symbolic answer keeps every condition: for random small networks with one unknown and
one or two other symbols, the stated answer (its bounds and its conditions, evaluated at
values of the other symbols) is exactly the set of values that brute force finds with the
network itself (which rejects every invalid layer), "no solution" included."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import sympy

import symconv
from symconv.errors import NoSolutionError, UnsupportedError
from symconv.solve.solution import solve

SPAN = 40  # the unknown is enumerated over 0..SPAN - 1


def random_query(rng: random.Random) -> tuple[str, str, int, dict[str, tuple[int, int]]]:
    """(network text, unknown, target, {other symbol: range}): a 1-D or 2-D network whose
    windows take a few symbols, with blocks now and then."""
    rank = rng.choice([1, 2])
    symbols = {"A": (1, 4), "B": (1, 3), "E": (1, 3)}
    pool = list(symbols)

    def param(low: int, high: int) -> str:
        return rng.choice(pool) if rng.random() < 0.4 else str(rng.randint(low, high))

    def layer() -> str:
        kind = rng.choice(["conv", "pool", "convT", "conv"])
        k, s, p = param(1, 4), param(1, 2), param(0, 2)
        if kind == "pool":
            return f"maxpool k={k} s={s} p={p}" + (" ceil" if rng.random() < 0.3 else "")
        if kind == "convT":
            return f"convT 2 k={k} s={s} p={p}"
        return f"conv 2 k={k} s={s} p={p} d={param(1, 2)}"

    axes = " x ".join(["W", rng.choice(["W", "H", "30"])][:rank])
    lines = [f"input 2 x {axes}"]
    for _ in range(rng.randint(1, 3)):
        block = rng.random()
        if block < 0.15:
            lines += ["residual {", layer(), "}"]
        elif block < 0.3:
            lines += ["concat {", "identity", "} {", layer(), "}", "conv 2 k=1"]
        else:
            lines.append(layer())
    text = "\n".join(lines)
    network = symconv.parse(text)
    names = list(network.symbols)
    symbols |= {"W": (1, 30), "H": (1, 30)}
    unknown = rng.choice(names)
    return text, unknown, rng.randint(1, 12), {n: symbols[n] for n in names if n != unknown}


def brute_force(text: str, unknown: str, target: int, values: dict[str, int]) -> set[int]:
    network = symconv.parse(text)
    found = set()
    for v in range(SPAN):
        try:
            shape = network.output_shape(**values, **{unknown: v})
        except symconv.SymconvError:
            continue
        if all(n == target for n in shape[1:]):
            found.add(v)
    return found


@pytest.mark.parametrize("seed", range(30))
def test_symbolic_answers_equal_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    text, unknown, target, ranges = random_query(rng)
    if not ranges:
        return  # no other symbol: the numeric solver, tested elsewhere
    samples = [{name: rng.randint(*span) for name, span in ranges.items()} for _ in range(3)]
    try:
        answer = solve(text, unknown, target)
    except (NoSolutionError, UnsupportedError) as refused:
        # Refusing is honest (no closed form, or conditions no answer can state), and says
        # why; a wrong answer is not.
        assert refused.message, text
        return
    except symconv.SymconvError as invalid:  # a layer invalid whatever the symbols are
        for values in samples:
            assert brute_force(text, unknown, target, values) == set(), (invalid, text)
        return
    for values in samples:
        stated = {v for v in range(SPAN) if answer.contains(v, **values)}
        assert stated == brute_force(text, unknown, target, values), (
            f"{unknown} for target {target} at {values} in\n{text}\nanswer:\n{answer}")


UNET = (Path(__file__).parent.parent / "examples" / "unet.net").read_text()


@pytest.mark.parametrize(("text", "shape", "unknown", "target", "lines"), [
    # The dilation of a 1-wide kernel decides nothing: the answer holds only where W = 3.
    ("input 2 x W\nconv 4 k=1 s=1 p=3 d=D", None, "D", 9,
     ["D >= 1", "  where W = 3 (the output size)"]),
    # The U-Net's skips need W divisible by 4: 130 has no solution, 128 one where H = 128.
    (UNET, "3 x H x W", "W", 130,
     ["no solution: W ≡ 0 or 1 (mod 4) (the paths of layer 7.8 (concat) must agree "
      "in size) fails at W = 130 whatever the other symbols are"]),
    (UNET, "3 x H x W", "W", 128, ["W = 128", "  where H = 128 (the output size)"]),
    # A pooling padding beyond half the kernel is a rule the answer states.
    ("input 3 x W\nmaxpool k=K s=2 p=P\nconv 3 k=3", None, "W", 10,
     ["Max(1, K - 2*P + 22) <= W <= K - 2*P + 23", "  where 2*P <= K (a layer's rule)"]),
])
def test_answers_state_their_conditions(text: str, shape: str | None, unknown: str,
                                        target: int, lines: list[str]) -> None:
    shown = str(solve(symconv.parse(text, shape), unknown, target)).splitlines()
    assert all(line in shown for line in lines), shown


def _ceil_pool_query(seed: int) -> tuple[str, int]:
    rng = random.Random(seed)
    k = rng.randint(1, 5)
    lines = [f"input 2 x {rng.randint(1, 40)}",
             f"maxpool k={k} s=S p={rng.randint(0, k // 2)} ceil"]
    if rng.random() < 0.5:  # the stride shared with a second layer
        lines.append(rng.choice(["conv 2 k=2 s=S", "avgpool k=2 s=S", "conv 2 k=1"]))
    return "\n".join(lines), rng.randint(1, 8)


@pytest.mark.parametrize("seed", range(40))
def test_ceil_mode_stride_answers_are_complete(seed: int) -> None:
    text, target = _ceil_pool_query(seed)
    answer = solve(text, "S", target)
    assert answer.complete and "searched" not in answer.reason, answer
    network = symconv.parse(text)
    top = 200  # past every plateau here: the input is at most 40 + 2·2
    found = set()
    for v in range(1, top):
        try:
            if all(n == target for n in network.output_shape(S=v)[1:]):
                found.add(v)
        except symconv.SymconvError:
            pass
    assert {v for v in range(1, top) if answer.contains(v)} == found, (text, target, answer)
    assert (answer.high == sympy.oo) == (top - 1 in found), answer


def test_ceil_mode_stride_answer_text() -> None:
    text = "input 3 x 20\nmaxpool k=3 s=S ceil"
    assert str(solve(text, "S", 1)).splitlines()[0] == "S >= 20"
    assert str(solve(text, "S", 4)).splitlines()[0] == "S in 5..6"
