"""Small symbolic networks whose windows share symbols (ceil-mode pools, transposed
convolutions, dilations, one stride S in several layers) through every question symconv
answers: solve (for an input size or a parameter, with and without the others given),
derive, rf (the recursion, its closed forms and a unit's region), the notes and the table.
Each answers or refuses with a SymconvError, never another exception (a RecursionError
inside SymPy, a TypeError); hypothesis draws the networks, derandomised."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symconv
from symconv.commands.rf import _report
from symconv.documents.notes import build_notes, notes_body

SYMBOLS = ("S", "K", "D", "P")
VALUES = st.sampled_from(["S", "S", "K", "2", "3", "S + 1", "K - 1"])


@st.composite
def layers(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["maxpool", "avgpool", "convT 3", "conv 3"]))
    parts = [kind, f"k={draw(VALUES)}", f"s={draw(VALUES)}"]
    if draw(st.booleans()):
        parts.append(f"p={draw(st.sampled_from(['1', 'P']))}")
    if kind != "avgpool" and draw(st.booleans()):
        parts.append(f"d={draw(st.sampled_from(['2', 'D']))}")
    if kind.endswith("pool") and draw(st.booleans()):
        parts.append("ceil")
    return " ".join(parts)


@st.composite
def questions(draw: st.DrawFn) -> tuple[str, str, int, dict[str, int]]:
    body = draw(st.lists(layers(), min_size=2, max_size=2))
    text = "input 3 x W\n" + "\n".join(body)
    names = ["W", *(s for s in SYMBOLS if any(s in line.split("=", 1)[-1] or f"={s}" in line
                                              for line in body))]
    unknown = draw(st.sampled_from(names))
    given = {n: draw(st.integers(1, 40 if n == "W" else 4)) for n in names
             if n != unknown and draw(st.booleans())}
    return text, unknown, draw(st.integers(1, 6)), given


def _ask(text: str, unknown: str, target: int, values: dict[str, int]) -> None:
    """Every question on the network; a SymconvError is an answer too."""
    try:
        network = symconv.parse(text)
    except symconv.SymconvError:
        return  # a drawn layer PyTorch refuses (a pool's padding above half its kernel)
    values = {k: v for k, v in values.items() if k in network.symbols}
    asks = [
        lambda: network.output_shape(**values),
        lambda: network.table(**values),
        lambda: symconv.derive(network, **values),
        lambda: symconv.solve(network, unknown, target, **values),
        lambda: symconv.solve(network, unknown, target),
        lambda: notes_body(build_notes(network, values)),
    ]
    records: tuple[object, ...] = ()

    def rf() -> None:
        nonlocal records
        records = network.records(**values)
        _report(network.bind(values), network.records(**values), len(records), None)
        network.region(len(records), (0,), **values)

    for ask in [*asks, rf]:
        if unknown in values and ask is asks[3]:
            continue
        with contextlib.suppress(symconv.SymconvError):
            ask()


# Two ceil-mode pools sharing a symbolic stride: the case that first reached SymPy's
# recursion, asked every way.
PINNED = [
    ("input 3 x W\nmaxpool k=3 s=S ceil\nmaxpool k=3 s=S ceil", "W", 5, {}),
    ("input 3 x W\nmaxpool k=3 s=S ceil\nmaxpool k=3 s=S ceil", "S", 5, {}),
    ("input 3 x W\nmaxpool k=3 s=S ceil\nmaxpool k=3 s=S ceil", "W", 5, {"S": 2}),
    ("input 3 x W\nmaxpool k=3 s=S ceil\nmaxpool k=3 s=S ceil", "S", 2, {"W": 40}),
]


def test_two_ceil_pools_sharing_a_stride_answer_every_question() -> None:
    for case in PINNED:
        _ask(*case)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(questions())
def test_shared_symbols_answer_or_refuse_with_symconv_errors(
        question: tuple[str, str, int, dict[str, int]]) -> None:
    _ask(*question)
