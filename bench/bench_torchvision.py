"""from_torch over every convolutional model of torchvision (classification, segmentation,
video; the transformers left out): which import with PyTorch's output shape and parameter
count, how long each takes (and the median and the slowest), and why the others do not.
Each model is read in a process of its own, given up after --timeout seconds (60 by
default).

    python bench/bench_torchvision.py            # every model
    python bench/bench_torchvision.py resnet18   # some

Needs torchvision (the test extra).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from torchvision_zoo import Outcome, cnn_names, try_import


def _child(name: str) -> None:
    """Read one model and print its outcome as one line of JSON."""
    import symconv

    try:
        outcome = try_import(name, symconv.from_torch)
    except Exception as error:  # building the model itself failed
        outcome = Outcome(name, False, 0.0, f"build: {type(error).__name__}: {error}")
    print(json.dumps(dataclasses.asdict(outcome)))


def run(name: str, timeout: float) -> Outcome:
    """The outcome of one model, read in a fresh interpreter given `timeout` seconds."""
    start = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, __file__, "--child", name], capture_output=True,
                              text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return Outcome(name, False, time.perf_counter() - start,
                       f"no answer after {timeout:.0f} s")
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return Outcome(name, False, 0.0, f"the reader died: {done.stderr.strip()[-200:]}")
    return Outcome(**json.loads(lines[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        _child(options.names[0])
        return 0
    names = options.names or cnn_names()
    start = time.perf_counter()
    outcomes = []
    for name in names:
        outcome = run(name, options.timeout)
        outcomes.append(outcome)
        mark = "ok  " if outcome.ok else "FAIL"
        print(f"{mark} {name:32} {outcome.seconds:6.2f} s  {outcome.reason}", flush=True)
    imported = sum(o.ok for o in outcomes)
    print(f"\n{imported} of {len(outcomes)} import exactly "
          f"({time.perf_counter() - start:.0f} s in all)")
    read = sorted((o.seconds, o.name) for o in outcomes if o.ok)
    if read:  # the README's speed table: the median and the slowest from_torch
        slowest = read[-1]
        print(f"from_torch: median {statistics.median(s for s, _ in read):.2f} s, slowest "
              f"{slowest[0]:.2f} s ({slowest[1]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
