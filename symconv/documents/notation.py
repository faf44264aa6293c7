"""The notations the notes can be written in (`symconv notes --notation`): symconv's own, CS231n's
and Dumoulin & Visin's. The derivations keep their symbols; only how a name is printed
changes (symconv.present.latex.symbol_names), and the formula sheet's letters with it.

| quantity of layer l | symconv | cs231n | dumoulin |
|---|---|---|---|
| spatial size after it (axis H) | H_l | H_l | o_{l,H} (o_l in 1-D) |
| the network's input size | H_0 | H_0 | i_H (i in 1-D) |
| kernel | K_l | F_l | k_l |
| stride, padding | S_l, P_l | S_l, P_l | s_l, p_l |
| dilation | D_l | D_l | d_l |
| output padding (transposed) | O_l | O_l | a_l |
| channels | C_l | C_l | C_l |
| features (flat) | F_l | N_l | F_l |

CS231n's K, the number of filters, is a convolution's output channels C_l; its F is the
filter size, so symconv's K (kernel) is written F and symconv's F (flat features) N: no K
names a kernel and no F a feature count. (CS231n's depth D1, D2 for channels is not used: D
names the depth axis of a 3-D network and the dilation.) Dumoulin & Visin write the sizes of
one layer, i in and o out; with many layers the input of layer l is o_{l-1}, and the
network's input i. A name a user gave a symbol is never taken: the letter is primed (k').
"""

from __future__ import annotations

import re
from collections.abc import Callable

from symconv.algebra.symbols import free_names
from symconv.derive.derivation import internal_letters
from symconv.engine.records import axis_names
from symconv.network import Network

# Per notation, the letter each of symconv's letters is written with (sizes of Dumoulin &
# Visin apart: they are i and o with the axis in the subscript).
LETTERS: dict[str, dict[str, str]] = {
    "symconv": {},
    "cs231n": {"K": "F", "F": "N"},
    "dumoulin": {"K": "k", "S": "s", "P": "p", "D": "d", "O": "a"},
}


def renamer(network: Network, notation: str) -> Callable[[str], str] | None:
    """The function that writes a symbol name of the notes' derivations in `notation`
    (None for symconv's own). Names a user gave stay as they are."""
    if notation == "symconv":
        return None
    letters = internal_letters(network)  # symconv's letter -> the letter written (K or K')
    written = {v: k for k, v in letters.items()}
    rank = len(network.input_shape) - 1
    axes = set(axis_names(rank)) if rank > 0 else set()
    user = set(network.symbols) | {n for v in network.input_shape for n in _names(v)}
    table = LETTERS[notation]
    new_letters = {*table.values(), *(("i", "o") if notation == "dumoulin" else ())}
    primed = {n: n + "'" if any(_reads_like(u, n) for u in user) else n for n in new_letters}

    def rename(name: str) -> str:
        if name in user:
            return name
        head, sep, rest = name.partition("_")
        letter = written.get(head)
        if not sep or letter is None:
            return name
        prime = "'" if head.endswith("'") else ""
        size = letter in axes and "," not in rest  # H_3; R_3,H and K_3,H are not sizes
        if notation == "dumoulin" and size:
            if rest == "0":
                return primed["i"] + prime + ("" if rank == 1 else f"_{letter}")
            return f"{primed['o']}{prime}_{rest}" + ("" if rank == 1 else f",{letter}")
        if letter in table:
            return f"{primed[table[letter]]}{prime}_{rest}"
        return name

    return rename


def _names(value: object) -> set[str]:
    import sympy

    return free_names(value) if isinstance(value, sympy.Basic) else set()


def _reads_like(name: str, letter: str) -> bool:
    """Whether a user's name would print like a name of the letter (k_1, k1, k)."""
    return (name == letter or name.startswith(letter + "_")
            or re.fullmatch(rf"{re.escape(letter)}[0-9]+", name) is not None)


# What the notes say about the notation, after the derivations' introduction (LaTeX text).
WORDS = {
    "symconv": "",
    "cs231n": (r"In CS231n's notation: $F$ the filter size, $S$ the stride, $P$ the padding; "
               r"the number of filters, CS231n's $K$, is a convolution's output channels "
               r"$C_l$; $N$ the features of a flat layer."),
    "dumoulin": (r"In Dumoulin \& Visin's notation: $i$ the input's size, $k$ the kernel, "
                 r"$s$ the stride, $p$ the padding, $d$ the dilation, $a$ a transposed "
                 r"convolution's output padding; $o_{l,H}$ the output size of layer $l$ "
                 r"along $H$, which layer $l + 1$ reads."),
}


# ---------------------------------------------------------------- the formula sheet

_INDEXED = re.compile(r"(?<![A-Za-z\\])\{([A-Z])\}_")
_SHEET_TOKEN = re.compile(r"(?<![A-Za-z\\])([A-Z])_(\{[^{}]*\}|[A-Za-z0-9])")


def sheet_in(notation: str, tex: str) -> str:
    """The formula sheet's LaTeX (written in symconv's letters, H for any spatial axis) with
    its letters in `notation`."""
    if notation == "symconv":
        return tex
    table = LETTERS[notation]
    if notation == "dumoulin":  # a product over the axes keeps them apart: o_{l,H} o_{l,W}
        tex = re.sub(r"H_(\{[^{}]*\}|[A-Za-z0-9]) W_\1",
                     lambda m: f"o_{{{_bare(m[1])},H}} o_{{{_bare(m[1])},W}}", tex)

    def one(m: re.Match[str]) -> str:
        letter, sub = m[1], m[2]
        if notation == "dumoulin" and letter == "H":
            return f"o_{sub}"
        return f"{table.get(letter, letter)}_{sub}"

    # the closed forms' indexed letters, {K}_{l}, then every other letter with a subscript
    tex = _INDEXED.sub(lambda m: "{" + table.get(m[1], m[1]) + "}_", tex)
    return _SHEET_TOKEN.sub(one, tex)


def _bare(sub: str) -> str:
    return sub[1:-1] if sub.startswith("{") else sub
