"""How long the solvers take (targets: each query under 50 ms; the design search over
K <= 11, S <= 4, P <= 5, D <= 3 under 0.5 s).

Run: python bench/bench_solve.py — prints, for each query, its first call (after one
unrelated query has paid the process's one-time set-up: the grammar, SymPy's first use; so
SymPy's caches are cold for the query's own expressions), and the median of 20 repeats;
then 200 random single-layer queries, each with numbers not seen before; then the design
search. Times include parsing the description.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable

from symconv.solve.align import aligned_sizes
from symconv.solve.design import Bounds, design_search
from symconv.solve.layers import Convention, same_padding, undo_output_padding
from symconv.solve.solution import solve

RESNET18_STEM = """input 3 x W x W
conv 64 k=7 s=2 p=3
maxpool k=3 s=2 p=1
repeat 2 { conv 64 k=3 p=1 }
conv 128 k=3 s=2 p=1
conv 128 k=3 p=1
conv 256 k=3 s=2 p=1
conv 256 k=3 p=1
conv 512 k=3 s=2 p=1
conv 512 k=3 p=1
adaptive_avgpool 1
"""

ENCODER_DECODER = """input 3 x 100 x 100
conv 16 k=3 s=2 p=1
conv 32 k=3 s=2 p=1
convt 16 k=3 s=2 p=1 op=A
convt 3 k=3 s=2 p=1 op=B
"""

QUERIES: list[tuple[str, Callable[[], object]]] = [
    ("P of conv k=7 s=2 for 224 -> 112",
     lambda: solve("input 3 x W x W\nconv 64 k=7 s=2 p=P", "P", "112x112", W=224)),
    ("P of conv k=7 s=4 for 224 -> 55 (two)",
     lambda: solve("input 3 x 224 x 224\nconv 64 k=7 s=4 p=P", "P", 55)),
    ("S of conv for an output of 1 (unbounded)",
     lambda: solve("input 3 x 224 x 224\nconv 64 k=7 s=S p=3", "S", 1)),
    ("K with dilation 2 for 64 -> 60",
     lambda: solve("input 3 x 64 x 64\nconv 8 k=K d=2", "K", 60)),
    ("W of a ResNet-18 stem for 7 x 7 before pooling",
     lambda: solve(RESNET18_STEM.replace("adaptive_avgpool 1\n", ""), "W", 7)),
    ("W of a ResNet-18 stem with adaptive pooling (unbounded)",
     lambda: solve(RESNET18_STEM, "W", 1)),
    ("P shared by 4 layers for 32 -> 8",
     lambda: solve("input 3 x 32 x 32\nrepeat 4 { conv 8 k=3 s=S p=P }", "P", 2, S=2)),
    ("output_padding B of a decoder to give back 100",
     lambda: solve(ENCODER_DECODER, "B", 100, A=1)),
    ("P symbolic: conv k=K s=S p=P, target O",
     lambda: solve("input 3 x W x W\nconv 64 k=K s=S p=P", "P", "O")),
    ("W symbolic: conv k=K s=S p=P, target O",
     lambda: solve("input 3 x W x W\nconv 64 k=K s=S p=P", "W", "O")),
    ("K with p=K//2 (searched, not monotone)",
     lambda: solve("input 3 x 32 x 32\nconv 8 k=K p=K//2", "K", 33)),
    ("aligned input sizes of the ResNet-18 stem",
     lambda: aligned_sizes(RESNET18_STEM)),
    ("'same' padding, both conventions, and an undoing output_padding",
     lambda: (same_padding(224, 4), same_padding(224, 4, 2, 1, Convention.TENSORFLOW),
              undo_output_padding(224, 3, 2, 1))),
]


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    # Once per process, not per query: the grammar, and SymPy's first floor and relation.
    solve("input 3 x 9 x 9\nconv 8 k=2 s=3 p=Q", "Q", 3)
    print(f"{'query':66} {'first':>9} {'median':>9}")
    worst = 0.0
    for name, call in QUERIES:
        first = timed(call)
        median = statistics.median(timed(call) for _ in range(20))
        worst = max(worst, first)
        print(f"{name:66} {first:7.1f}ms {median:7.1f}ms")
    rng = random.Random(0)
    fresh = []
    for _ in range(200):
        n, k, s, d = rng.randint(20, 500), rng.randint(1, 11), rng.randint(1, 4), rng.randint(1, 3)
        text = f"input 3 x {n} x {n}\nconv 8 k={k} s={s} p=P d={d}"
        target = max(1, (n + 2 * rng.randint(0, 5) - d * (k - 1) - 1) // s + 1)
        fresh.append(timed(lambda text=text, target=target: solve(text, "P", target)))
    print(f"200 random padding queries, fresh numbers: median {statistics.median(fresh):.1f} ms,"
          f" max {max(fresh):.1f} ms")
    bounds = Bounds((1, 11), (1, 4), (0, 5), (1, 3))
    search = [timed(lambda: design_search(224, 112, bounds, in_channels=3, out_channels=64))
              for _ in range(5)]
    print(f"design search K<=11, S<=4, P<=5, D<=3 (224 -> 112): first {search[0]:.2f} ms, "
          f"best {min(search):.2f} ms")
    print(f"slowest first call: {worst:.1f} ms; slowest fresh query: {max(fresh):.1f} ms")


if __name__ == "__main__":
    main()
