"""Receptive fields: the recursion against brute-force index sets, closed forms, seeds and
published figures."""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache

import pytest
import sympy

import symconv
from symconv.algebra.symbols import symbol
from symconv.engine.receptive import INPUT, closed_forms

# ---------------------------------------------------------------- the brute-force oracle


@dataclass(frozen=True)
class Win:
    """One layer of a random chain, as the oracle reads it."""

    kind: str  # conv, maxpool, avgpool, convt
    k: int
    s: int
    p: int | str  # an int, or "same"
    d: int = 1
    ceil: bool = False

    def text(self) -> str:
        if self.kind == "conv":
            return f"conv 2 k={self.k} s={self.s} p={self.p} d={self.d}"
        if self.kind == "convt":
            return f"convt 2 k={self.k} s={self.s} p={self.p} d={self.d}"
        extra = f" d={self.d}" if self.kind == "maxpool" else ""
        return f"{self.kind} k={self.k} s={self.s} p={self.p}{extra}{' ceil' if self.ceil else ''}"

    def before(self) -> int:
        if self.p == "same":
            return self.d * (self.k - 1) // 2
        assert isinstance(self.p, int)
        return self.p

    def reads(self, o: int) -> list[int]:
        """Positions of the layer's input (extended past both ends) that output o reads."""
        if self.kind == "convt":
            assert isinstance(self.p, int)
            # o = i*s - p + d*t: every input i and tap t that lands on o.
            return [(o + self.p - self.d * t) // self.s for t in range(self.k)
                    if (o + self.p - self.d * t) % self.s == 0]
        return [o * self.s - self.before() + self.d * t for t in range(self.k)]


def dependence(chain: tuple[Win, ...]) -> object:
    """dep(o): the set of input positions output unit o of the last layer depends on."""

    @cache
    def dep(level: int, o: int) -> frozenset[int]:
        if level == 0:
            return frozenset((o,))
        out: set[int] = set()
        for q in chain[level - 1].reads(o):
            out |= dep(level - 1, q)
        return frozenset(out)

    return lambda o: dep(len(chain), o)


def random_window(rng: random.Random, transposed: bool = False) -> Win:
    kind = rng.choice(["conv", "conv", "maxpool", "avgpool"] + (["convt"] if transposed else []))
    k = rng.randint(1, 5)
    s = rng.randint(1, 3)
    if kind == "conv":
        d = rng.randint(1, 3)
        if s == 1 and rng.random() < 0.3:
            return Win(kind, k, 1, "same", d)
        return Win(kind, k, s, rng.randint(0, 3), d)
    if kind == "convt":
        d = rng.randint(1, 2)
        return Win(kind, k, s, rng.randint(0, d * (k - 1)), d)
    d = rng.randint(1, 2) if kind == "maxpool" else 1
    return Win(kind, k, s, rng.randint(0, k // 2), d, rng.random() < 0.4)


def network_of(chain: tuple[Win, ...], n: int) -> symconv.Network:
    return symconv.parse("\n".join([f"input 2 x {n}", *(w.text() for w in chain)]))


def random_chains(seed: int, count: int, transposed: bool = False):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    made = 0
    while made < count:
        chain = tuple(random_window(rng, transposed) for _ in range(rng.randint(1, 5)))
        try:
            records = network_of(chain, rng.randint(30, 80)).records()
        except symconv.SymconvError:
            continue  # the input is too small for the chain: draw another
        made += 1
        yield chain, records


@pytest.mark.parametrize("seed", range(4))
def test_recursion_matches_brute_force_index_sets(seed: int) -> None:
    """r, j and start of every layer of 500 random chains (dilation, padding, 'same',
    pooling, ceil_mode) against the index sets enumerated unit by unit."""
    for chain, records in random_chains(seed, 500):
        for depth, record in enumerate(records, start=1):
            dep = dependence(chain[:depth])
            (r,), (j,), (start,) = record.receptive_field, record.jump, record.start
            n_out = record.output_shape[1]
            for o in {0, 1, n_out - 1}:
                seen = dep(o)
                assert max(seen) - min(seen) + 1 == r, (chain[:depth], o)
                assert sympy.Rational(min(seen) + max(seen), 2) == start + o * j, (chain, o)


@pytest.mark.parametrize("seed", range(2))
def test_transposed_regions_contain_what_units_read(seed: int) -> None:
    """With transposed convolutions the jump divides: the (fractional) region of a unit holds
    every input position it depends on, and is reached where the taps land on elements."""
    for chain, records in random_chains(100 + seed, 150, transposed=True):
        dep = dependence(chain)
        field = records[-1].fields[0]
        n_out = records[-1].output_shape[1]
        reached_low = reached_high = False
        for o in range(n_out):
            seen = dep(o)
            if not seen:
                continue
            first, last = field.interval(o)
            assert first <= min(seen) and max(seen) <= last, (chain, o)
            reached_low |= min(seen) == first
            reached_high |= max(seen) == last
        last = chain[-1]
        if [w.kind for w in chain].count("convt") == 1 and last.kind == "convt" and (
            last.d * (last.k - 1) % last.s == 0
        ):  # the outermost taps both land on input elements: the bound is reached
            assert reached_low and reached_high, chain


@pytest.mark.parametrize("seed", range(3))
def test_closed_forms_agree_with_the_recursion(seed: int) -> None:
    """Araujo et al.: r = 1 + Σ(k−1)Πs, stride Πs, padding Σ pΠs, centre u·S − P + (r−1)/2."""
    for _chain, records in random_chains(200 + seed, 150):
        path = [(INPUT,), *(r.fields for r in records)]
        (form,) = closed_forms(path)
        field = records[-1].fields[0]
        assert form.receptive_field == field.size
        assert form.stride == field.jump
        assert form.padding == sympy.Rational(field.size - 1, 2) - field.start
        assert form.centre(3) == field.start + 3 * field.jump


@pytest.mark.parametrize("seed", range(2))
def test_region_of_a_unit_is_its_dependence(seed: int) -> None:
    rng = random.Random(300 + seed)
    for chain, records in random_chains(300 + seed, 200):
        n = records[0].input_shape[1]
        net = network_of(chain, n)
        layer = rng.randint(1, len(chain))
        unit = rng.randint(0, records[layer - 1].output_shape[1] - 1)
        ((first, last),) = net.region(layer, (unit,))
        seen = dependence(chain[:layer])(unit)
        assert (first, last) == (min(seen), max(seen))


# ---------------------------------------------------------------- seeds and published figures


@pytest.mark.parametrize(
    ("layers", "fields"),
    [
        # shared/seeds/003: a 3x3 stride-2 layer, then a 3x3 layer: 3, then 3 + 2·2 = 7.
        (["conv 1 k=3 s=2 p=1", "conv 1 k=3 s=1 p=1"], [(3, 2, 0), (7, 2, 0)]),
        # shared/seeds/001: each stride-1 K x K layer adds K − 1.
        (["conv 1 k=5", "conv 1 k=5", "conv 1 k=5"], [(5, 1, 2), (9, 1, 4), (13, 1, 6)]),
        # dilation 2 spans 5; an even kernel centres between two elements.
        (["conv 1 k=3 d=2", "conv 1 k=2"], [(5, 1, 2), (6, 1, sympy.Rational(5, 2))]),
        # p=same with an even kernel pads 1 before, 2 after: the centre moves by 1/2.
        (["conv 1 k=4 p=same"], [(4, 1, sympy.Rational(1, 2))]),
        # a transposed convolution divides the jump: units 0 and 1 both read unit 0 below
        # ({0, 1}), and their regions [-1, 1] and [0, 2] are one element apart.
        (["conv 1 k=2 s=2", "convt 1 k=2 s=2"], [(2, 2, sympy.Rational(1, 2)), (3, 1, 0)]),
    ],
)
def test_recursion_table(layers: list[str], fields: list[tuple[object, object, object]]) -> None:
    net = symconv.parse("\n".join(["input 1 x 32 x 32", *layers]))
    got = [(r.receptive_field[0], r.jump[0], r.start[0]) for r in net.table()]
    assert got == fields
    assert all(r.receptive_field[0] == r.receptive_field[1] for r in net.table())


def test_seed_001_closed_form_in_L_and_K() -> None:
    """L stride-1 convolutions with kernel K: r = 1 + L(K − 1), derived by the engine."""
    (record,) = symconv.parse("input 1 x W\nrepeat L { conv 1 k=K }").table()
    L, K = symbol("L"), symbol("K")
    assert sympy.expand(record.receptive_field[0] - (1 + L * (K - 1))) == 0
    assert record.jump == (1,)


def test_strided_repeat_closed_form_by_substitution() -> None:
    """With stride S: 1 + (K − 1)(S^L − 1)/(S − 1), and 1 + L(K − 1) at S = 1."""
    (record,) = symconv.parse("input 1 x W\nrepeat L { conv 1 k=K s=S }").table()
    r, j = record.receptive_field[0], record.jump[0]
    L, K, S = symbol("L"), symbol("K"), symbol("S")
    for s_ in range(1, 5):
        for l_ in range(1, 6):
            for k_ in range(1, 6):
                value = r.subs({L: l_, K: k_, S: s_})
                expected = 1 + l_ * (k_ - 1) if s_ == 1 else 1 + sympy.Rational(
                    (k_ - 1) * (s_**l_ - 1), s_ - 1)
                assert value == expected
                assert j.subs({L: l_, S: s_}) == s_**l_


def _pool5(net: symconv.Network) -> int:
    return max(r.index for r in net.table() if r.kind == "maxpool2d")


@pytest.mark.parametrize(
    ("path", "r", "stride", "padding"),
    [("examples/vgg16.net", 212, 32, 90), ("examples/alexnet_v2.net", 195, 32, 64)],
)
def test_published_figures_at_pool5(path: str, r: int, stride: int, padding: int) -> None:
    with open(path, encoding="utf-8") as handle:
        net = symconv.parse(handle.read())
    records = net.records()
    pool5 = _pool5(net)
    path_fields = [(INPUT, INPUT), *(rec.fields for rec in records[:pool5])]
    for form in closed_forms(path_fields):
        assert (form.receptive_field, form.stride, form.padding) == (r, stride, padding)
    assert records[pool5 - 1].receptive_field == (r, r)


def test_flatten_and_linear_see_the_whole_input() -> None:
    net = symconv.parse("input 3 x 20 x 12\nconv 4 k=3\nflatten\nlinear 10")
    conv, flat, linear = net.table()
    assert conv.receptive_field == (3, 3)
    assert flat.receptive_field == linear.receptive_field == (20, 12)
    assert flat.jump == (None, None)
    assert net.region(3, (0, 0)) == ((0, 19), (0, 11))


def test_json_carries_exact_fractions() -> None:
    import json

    from symconv.render.table import table_json

    net = symconv.parse("input 1 x 16\nconv 1 k=2\nmaxpool k=2")
    layers = json.loads(table_json(net, net.table()))["layers"]
    assert [(e["receptive_field"], e["jump"], e["start"]) for e in layers] == [
        ([2], [1], ["1/2"]), ([3], [2], [1])]


def test_rf_command_prints_the_table_and_closed_forms(capsys: pytest.CaptureFixture[str]) -> None:
    from symconv.cli import main

    assert main(["rf", "examples/alexnet_v2.net", "--unit", "1,2"]) == 0
    out = capsys.readouterr().out
    assert "1 + 10 + 8 + 32 + 16 + 32 + 32 + 32 + 32 = 195" in out
    assert "effective padding Σ p_l·Π_{i<l} s_i = 64" in out
    assert "centre of unit u  u·S - P + (r - 1)/2 = 32*u + 33" in out
    assert "H: positions -32 to 162, input elements 0 to 162" in out
    assert main(["rf", "examples/alexnet_v2.net", "--layer", "99"]) == 2
    assert "--layer 99: the network has layers 1 to 13" in capsys.readouterr().err


def test_rf_json_tracks_padding_on_each_side(capsys: pytest.CaptureFixture[str]) -> None:
    """p=same with kernel 4 pads 1 before and 2 after; a stride-2 window that stops short of
    the end, and a ceil_mode window that runs one past it."""
    import json

    from symconv.cli import main

    text = "input 1 x 16 x 15\\nconv 1 k=4 p=same\\nconv 1 k=3 s=2\\nmaxpool k=2 ceil"
    assert main(["rf", "-e", text, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = report["rows"][1:]
    assert [(r["p"], r["p after"]) for r in rows] == [(1, 2), (0, [-1, 0]), (0, 1)]
    assert report["closed_forms"]["H"]["effective_padding_after"] == 3
    assert report["closed_forms"]["W"]["effective_padding_after"] == 4


@pytest.mark.parametrize(("n", "o"), [(12, 4), (12, 1), (10, 4), (7, 3), (9, 9)])
def test_adaptive_pooling_takes_its_widest_window(n: int, o: int) -> None:
    """Adaptive pooling reads [⌊i·n/o⌋, ⌈(i+1)·n/o⌉): where o divides n it is a pool with
    k = s = n/o (exact); otherwise r is the widest window and j the mean stride n/o."""
    (record,) = symconv.parse(f"input 1 x {n}\nadaptive_avgpool {o}").table()
    windows = [(i * n // o, -(-(i + 1) * n // o)) for i in range(o)]
    assert record.receptive_field == (max(end - start for start, end in windows),)
    assert record.jump == (sympy.Rational(n, o),)
    if n % o == 0:
        assert all(sympy.Rational(start + end - 1, 2) == record.start[0] + i * record.jump[0]
                   for i, (start, end) in enumerate(windows))
