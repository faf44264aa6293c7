"""How long `symconv notes` takes on AlexNet without --pdf (the target: under 2 s).

Run: python bench/bench_notes.py [NET] — prints the wall time of the command as a user runs
it (a fresh process: interpreter start, imports, parsing, derivations, closed forms, the
formula sheet, writing the file), the best of five, and the in-process time of building the
document alone.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import symconv
from symconv.documents.notes import build_notes, notes_document

ROOT = Path(__file__).parent.parent


def main() -> None:
    net = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "examples" / "alexnet.net"
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "symconv", "notes", str(net), "-o",
                            str(Path(tmp) / "notes.tex")], check=True)
            runs.append(time.perf_counter() - start)
    start = time.perf_counter()
    notes_document(build_notes(symconv.parse(net.read_text())))
    inside = time.perf_counter() - start
    print(f"symconv notes {net.name}: best {min(runs):.2f} s, worst {max(runs):.2f} s "
          f"(5 runs, fresh process); building the document in-process: {inside:.2f} s")


if __name__ == "__main__":
    main()
