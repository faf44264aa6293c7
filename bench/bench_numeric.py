"""Numeric evaluation of a 50-layer network, symconv against PyTorch on the meta device, in one
run: the natural calls (`output_shape` + `params`, `table`), the compiled evaluator against
hand-written integer arithmetic for the same formulas, a batch of a million input sizes.
(The wall time of `symconv table` is bench/bench_startup.py's.)

What is measured is the steady state: the network compiled once (`network.evaluator()`, whose
time is printed), as a loop over sizes has it after its first TRACED_CALLS numeric calls,
which the trace answers (the first call's time is printed too). A table's values are SymPy
objects made when read: one row times `table()` alone, another `table()` with every field
of every row read.

    python bench/bench_numeric.py

Figures are medians over repeated runs on this machine; README.md records them.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

import symconv
from symconv.numeric.fast import TRACED_CALLS

DEPTH = 50


def network_text() -> str:
    """A 50-layer plain CNN: conv / bn / relu / grouped conv / pool, repeated."""
    lines = ["input 3 x H x W"]
    cycle = ["conv 64 k=3 p=1", "bn", "relu", "conv 64 k=3 p=1 g=2", "maxpool k=3 s=1 p=1"]
    lines += [cycle[i % len(cycle)] for i in range(DEPTH)]
    return "\n".join(lines)


def torch_answer(h: int, w: int) -> tuple[list[tuple[int, ...]], int]:
    """What torch needs to give the same answers: build the modules on the meta device, run a
    forward pass layer by layer, count the parameters."""
    with torch.device("meta"):
        modules: list[nn.Module] = []
        channels = 3
        for i in range(DEPTH):
            step = i % 5
            if step == 0:
                modules.append(nn.Conv2d(channels, 64, 3, padding=1))
                channels = 64
            elif step == 1:
                modules.append(nn.BatchNorm2d(channels))
            elif step == 2:
                modules.append(nn.ReLU())
            elif step == 3:
                modules.append(nn.Conv2d(channels, 64, 3, padding=1, groups=2))
            else:
                modules.append(nn.MaxPool2d(3, 1, 1))
        x = torch.empty(1, 3, h, w)
        shapes = []
        for module in modules:
            x = module(x)
            shapes.append(tuple(x.shape[1:]))
    return shapes, sum(p.numel() for m in modules for p in m.parameters())


def window(n: int, k: int, s: int, p: int) -> int:
    """Output length of a window layer (the formula symconv uses)."""
    return (n + 2 * p - (k - 1) - 1) // s + 1


def hand_written(h: int, w: int) -> list[tuple[tuple[int, int, int], int, int, int, int]]:
    """The same 50 layers written out by hand in plain integers: per layer the output shape,
    params, neurons, connections and multiply-adds, as symconv defines them."""
    rows = []
    c = 3
    for i in range(DEPTH):
        step = i % 5
        if step in (0, 3):  # conv 64 k=3 p=1, groups 1 or 2
            g = 1 if step == 0 else 2
            h, w = window(h, 3, 1, 1), window(w, 3, 1, 1)
            fan_in = c // g * 9
            n = 64 * h * w
            rows.append(((64, h, w), 64 * fan_in + 64, n, n * (fan_in + 1), n * fan_in))
            c = 64
        elif step == 1:  # bn
            n = c * h * w
            rows.append(((c, h, w), 2 * c, n, n, n))
        elif step == 2:  # relu
            n = c * h * w
            rows.append(((c, h, w), 0, n, n, 0))
        else:  # maxpool k=3 s=1 p=1
            h, w = window(h, 3, 1, 1), window(w, 3, 1, 1)
            n = c * h * w
            rows.append(((c, h, w), 0, n, 9 * n, 0))
    return rows


def median_seconds(run: Callable[[], object], repeat: int, number: int) -> float:
    run()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            run()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def alternating(first: Callable[[], object], second: Callable[[], object], rounds: int,
                numbers: tuple[int, int]) -> tuple[float, float]:
    """Median seconds per call of each, sampled in turn (a batch of one, then of the other),
    so that a change in the machine's load weighs on both alike."""
    first(), second()
    a, b = [], []
    for _ in range(rounds):
        for run, number, samples in ((first, numbers[0], a), (second, numbers[1], b)):
            start = time.perf_counter()
            for _ in range(number):
                run()
            samples.append((time.perf_counter() - start) / number)
    return statistics.median(a), statistics.median(b)


def main() -> None:
    symconv.parse(network_text()).table(H=224, W=224)  # (the modules a table takes loaded)
    fresh = symconv.parse(network_text())
    start = time.perf_counter()
    fresh.table(H=224, W=224)  # a new network's first call: traced
    first_s = time.perf_counter() - start
    network = symconv.parse(network_text())
    start = time.perf_counter()
    evaluator = network.evaluator()  # the network's own: its numeric calls use it too
    compile_s = time.perf_counter() - start

    sizes = (224, 224)
    records = evaluator(H=sizes[0], W=sizes[1])
    shapes, params = torch_answer(*sizes)
    assert [r.output_shape for r in records] == shapes, "symconv and torch disagree"
    assert sum(r.params for r in records) == params
    assert network.output_shape(H=224, W=224) == shapes[-1] and network.params(H=224, W=224) \
        == params
    assert [(r.output_shape, r.params, r.neurons, r.connections, r.macs) for r in records] == \
        hand_written(*sizes), "symconv and the hand-written formulas disagree"

    t_torch, t_table = alternating(lambda: torch_answer(*sizes),
                                   lambda: network.table(H=224, W=224), rounds=9,
                                   numbers=(5, 20))
    # a new size at every call: nothing of the last call's numbers is reused
    fresh = iter(range(10**6, 0, -1))
    t_torch_fresh, t_table_fresh = alternating(
        lambda: torch_answer(*sizes), lambda: network.table(H=224, W=next(fresh)), rounds=9,
        numbers=(5, 20))
    fields = [f.name for f in dataclasses.fields(symconv.LayerRecord)]
    t_torch_read, t_read = alternating(
        lambda: torch_answer(*sizes),
        lambda: [getattr(r, f) for r in network.table(H=224, W=next(fresh)) for f in fields],
        rounds=9, numbers=(5, 20))
    t_natural = median_seconds(
        lambda: (network.output_shape(H=224, W=224), network.params(H=224, W=224)),
        repeat=5, number=1000)
    t_compiled = median_seconds(lambda: evaluator(H=224, W=224), repeat=5, number=2000)
    t_hand = median_seconds(lambda: hand_written(224, 224), repeat=5, number=2000)
    t_trace = median_seconds(lambda: network.traced_records(H=224, W=224), repeat=5, number=20)

    print(f"{DEPTH}-layer network, input 3 x 224 x 224: shapes and counts of every layer")
    print(f"  {'method':58} {'time per answer':>16} {'vs torch':>10}")
    rows = [
        ("torch, meta device (build + forward + count)", t_torch),
        ("symconv net.output_shape(H=, W=) + net.params(H=, W=)", t_natural),
        ("symconv net.table(H=, W=) (every row, receptive fields)", t_table),
        ("symconv net.table(H=224, W=w), a new w at every call", t_table_fresh),
        ("  the same, and every field of every row read", t_read),
        ("symconv compiled evaluator, net.evaluator()(H=, W=)", t_compiled),
        ("hand-written integer arithmetic, same formulas", t_hand),
        ("symconv trace with substitution (net.traced_records)", t_trace),
    ]
    for name, seconds in rows:
        anchor = {id(t_table_fresh): t_torch_fresh, id(t_read): t_torch_read}.get(id(seconds),
                                                                                  t_torch)
        print(f"  {name:58} {seconds * 1e6:13.1f} us {anchor / seconds:9.1f}x")
    print("  (net.table and torch measured in turn; the second and third table rows against "
          f"torch's {t_torch_fresh * 1e3:.1f} and {t_torch_read * 1e3:.1f} ms of their own turns)")
    print(f"  compiled evaluator / hand-written: {t_compiled / t_hand:.1f}x (target within 5x)")
    print(f"  compiling the evaluator once: {compile_s * 1e3:.0f} ms; before it, a network's "
          f"first {TRACED_CALLS} numeric calls are traced: net.table(H=224, W=224) "
          f"{first_s * 1e3:.1f} ms")

    many = []
    for _ in range(3):
        start = time.perf_counter()
        batch = evaluator.many(H=224, W=range(1, 10**6 + 1))
        many.append(time.perf_counter() - start)
    assert batch.params[223] == params and len(batch) == 10**6
    print(f"`net.evaluator().many(H=224, W=range(1, 10**6 + 1))`, a million sizes: best "
          f"{min(many):.2f} s, worst {max(many):.2f} s of 3 (NumPy int64, bounds checked)")


if __name__ == "__main__":
    main()
