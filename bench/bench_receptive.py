"""Symbolic output size and receptive field of long chains: time grows linearly with depth.

A chain of L layers on a C x H x W input (H, W symbols): convolutions with kernel K (a
symbol) and padding 'same', each followed by a ReLU, and five 3x3 stride-2 convolutions
spread evenly along the chain (the output size ⌈W/32⌉, as in a ResNet of that depth).
Run: python bench/bench_receptive.py
"""

from __future__ import annotations

import time

import symconv


def chain(depth: int) -> str:
    lines = ["input C x H x W"]
    for i in range(depth):
        if i % 2:
            lines.append("relu")
        elif (i // 2) % (depth // 10) == depth // 20:
            lines.append("conv 16 k=3 s=2 p=1")
        else:
            lines.append("conv 16 k=K p=same")
    return "\n".join(lines)


def main() -> None:
    print(f"{'layers':>7} {'seconds':>9} {'ms/layer':>9}  output size and receptive field (W)")
    for depth in (10, 100, 1000):
        text = chain(depth)
        start = time.perf_counter()
        records = symconv.parse(text).records()
        last = records[-1]
        seconds = time.perf_counter() - start
        size, field = str(last.output_shape[-1]), str(last.receptive_field[-1])
        print(f"{depth:>7} {seconds:>9.3f} {1000 * seconds / depth:>9.2f}  {size:<14} r = {field}")


if __name__ == "__main__":
    main()
