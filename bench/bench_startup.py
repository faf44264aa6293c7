"""Start-up: `symconv table examples/alexnet.net`, start to finish, against a bare
`python -c "import sympy"`, side by side in one run: the two commands alternate, each run in
a fresh interpreter, and the medians are compared (target: within 1.5x).

    python bench/bench_startup.py [RUNS] [--imports]

Both run with their bytecode cached, as an installed package is (pip compiles it on install;
SymPy's own is): one untimed run first writes symconv's, even where PYTHONDONTWRITEBYTECODE is
set. With --imports, the command's slowest imports (`-X importtime`) are listed too.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SYMPY = [sys.executable, "-c", "import sympy"]
TABLE = [sys.executable, "-m", "symconv", "table", str(ROOT / "examples" / "alexnet.net")]


def seconds(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def slowest_imports(env: dict[str, str], count: int = 12) -> list[tuple[int, str]]:
    """The command's imports that SymPy's does not make, by their own time in microseconds."""

    def own_times(command: list[str]) -> dict[str, int]:
        done = subprocess.run([command[0], "-X", "importtime", *command[1:]], check=True,
                              capture_output=True, text=True, env=env)
        times = {}
        for line in done.stderr.splitlines()[1:]:
            own, _, name = line.removeprefix("import time:").split("|")
            times[name.strip()] = int(own)
        return times

    sympy = own_times(SYMPY)
    table = own_times(TABLE)
    extra = sorted(((t, name) for name, t in table.items() if name not in sympy), reverse=True)
    return extra[:count]


def main() -> None:
    runs = next((int(a) for a in sys.argv[1:] if a.isdigit()), 9)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    seconds(TABLE, env)  # writes symconv's bytecode and Lark's grammar cache
    seconds(SYMPY, env)
    bare, table = [], []
    for _ in range(runs):
        bare.append(seconds(SYMPY, env))
        table.append(seconds(TABLE, env))
    ratio = statistics.median(table) / statistics.median(bare)
    print(f"start to finish, median of {runs} alternating runs (min - max):")
    print(f"  python -c 'import sympy'                {statistics.median(bare):.3f} s "
          f"({min(bare):.3f} - {max(bare):.3f})")
    print(f"  symconv table examples/alexnet.net      {statistics.median(table):.3f} s "
          f"({min(table):.3f} - {max(table):.3f})")
    print(f"  ratio {ratio:.2f}x (target within 1.5x)")
    if "--imports" in sys.argv:
        print("the command's own imports, slowest first (us):")
        for own, name in slowest_imports(env):
            print(f"  {own:8d}  {name}")


if __name__ == "__main__":
    main()
