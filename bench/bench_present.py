"""What the presentation of a symbolic solve answer costs beside the solve itself.

Run: python bench/bench_present.py — for each textbook question, in a fresh process each
time the script runs: the time of `symconv.solve` (the anchor) and of the first
`solution_text` of its answer (the readable cases, checked against brute force before they
are shown), after one unrelated query has paid the process's one-time set-up.
"""

from __future__ import annotations

import time

import symconv
from symconv.render.solution import solution_text

QUESTIONS = [
    ("input C x W\nconv C k=K p=P", "P", "W"),
    ("input C x W\nconv C k=3 d=D p=P", "P", "W"),
    ("input C x W\nconv C k=3 s=S p=1", "S", "ceiling(W/2)"),
    ("input C x W\nconv C k=K s=S p=P\nconvT C k=K s=S p=P op=O", "O", "W"),
]


def main() -> None:
    solution_text(symconv.solve("input 3 x W\nconv 8 k=3 s=2 p=1", "W", 7))  # set-up
    for net, unknown, target in QUESTIONS:
        start = time.perf_counter()
        solution = symconv.solve(net, unknown, target)
        solved = time.perf_counter()
        first = solution_text(solution).splitlines()[0]
        shown = time.perf_counter()
        print(f"{unknown} for {target:<13} solve {1000 * (solved - start):6.0f} ms   "
              f"presented {1000 * (shown - solved):6.0f} ms   {first[:60]}")


if __name__ == "__main__":
    main()
