"""`symconv rf NET`: the receptive-field recursion, layer by layer, and its closed forms."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

import sympy

from symconv.algebra.symbols import Value, internal_symbol, truth
from symconv.commands.options import (
    add_network_arguments,
    load_network,
    read_option,
    values_from,
    whole_option,
)
from symconv.engine.joins import data_paths
from symconv.engine.receptive import (
    INPUT,
    Field,
    Geometry,
    Stage,
    advance,
    closed_forms,
    padding_after,
    stage,
)
from symconv.engine.records import Record, axis_names
from symconv.errors import ShapeError, SymconvError
from symconv.language.parse import parse_expression
from symconv.network import Network
from symconv.present.expressions import cases
from symconv.present.values import json_value
from symconv.present.words import cases_json, cases_text, condition_text
from symconv.render.columns import aligned_table, wrap_line


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "rf", help="receptive field, jump and start per layer, and their closed forms"
    )
    add_network_arguments(parser)
    parser.add_argument("--layer", type=whole_option, metavar="L",
                        help="the layer the closed forms describe (default: the last one with "
                        "spatial axes)")
    parser.add_argument("--unit", metavar="I,J",
                        help="also say which input positions this output unit of the layer sees")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    network = load_network(args)
    values = values_from(args)
    records = network.records(**values)
    target = _target(records, args.layer)
    unit = None if args.unit is None else _unit(args.unit)
    report = _report(network.bind(values), records, target, unit)
    if args.format == "json":
        print(json.dumps(report, indent=2, default=_json_default))
    else:
        print(_text(report), end="")
    return 0


def _target(records: Sequence[Record], layer: int | None) -> int:
    if layer is None:
        spatial = [r.index for r in records if not any(fd.ended for fd in r.fields)]
        return spatial[-1] if spatial else 0
    if not 1 <= layer <= len(records):
        raise SymconvError(f"--layer {layer}: the network has layers 1 to {len(records)}")
    record = records[layer - 1]
    if not record.fields or any(fd.ended for fd in record.fields):
        raise SymconvError(
            f"--layer {layer}: layer {layer} ({record.kind}) has no spatial axes left; each "
            "of its units sees the whole input"
        )
    return layer


def _unit(text: str) -> tuple[Value, ...]:
    return tuple(read_option("--unit", parse_expression, part) for part in text.split(","))


def _report(network: Network, records: Sequence[Record], target: int,
            unit: tuple[Value, ...] | None) -> dict[str, Any]:
    spatial = network.input_shape[1:]
    axes = axis_names(len(spatial))
    before: tuple[Field, ...] = tuple(INPUT for _ in spatial)
    rows = [{"index": "", "layer": "input", "k": None, "s": None, "p": None, "p after": None,
             **_fields(before)}]
    paths = data_paths(network.layers, records, before)  # a join goes on from an input
    for r, path in zip(records, paths, strict=True):
        before = path[-2]
        stages = [stage(a, b) for a, b in zip(before, r.fields, strict=True)]
        rows.append({
            "index": r.index, "layer": r.kind,
            "k": _axes([None if st is None else st.kernel for st in stages]),
            "s": _axes([None if st is None else st.stride for st in stages]),
            "p": _axes([None if st is None else st.padding for st in stages]),
            "p after": _axes(_far_padding(r, stages)),
            **_fields(r.fields),
        })
        _add_cases(rows[-1], ("k", "s", "p", "p after", "r", "j", "start"))
    report: dict[str, Any] = {"axes": list(axes), "rows": rows, "layer": target}
    if target == 0:
        return report
    record = records[target - 1]
    forms = closed_forms(paths[target - 1])
    u = internal_symbol("u", network.symbols)  # the unit's index
    report["unit_index"] = u
    report["closed_forms"] = {
        axis: {
            "receptive_field": cf.receptive_field,
            "terms": list(cf.terms),
            "effective_stride": cf.stride,
            "effective_padding": cf.padding,
            "effective_padding_after": padding_after(fd, n, out),
            "centre": cf.centre(u),
        }
        for axis, cf, fd, n, out in zip(axes, forms, record.fields, spatial,
                                        record.output_shape[1:], strict=True)
    }
    for entry in report["closed_forms"].values():
        _add_cases(entry, ("receptive_field", "effective_stride", "effective_padding",
                           "effective_padding_after", "centre"))
    aligned = [r.aligned for r in records[:target] if r.aligned is not None]
    report["aligned"] = _aligned(aligned)
    if unit is not None:
        if len(unit) != len(spatial):
            raise ShapeError(f"--unit takes one index per spatial axis ({', '.join(axes)})")
        for axis, u, size in zip(axes, unit, record.output_shape[1:], strict=True):
            # a unit is a whole index from 0 to the layer's output size - 1
            if not sympy.sympify(u, strict=True).is_integer or truth(u >= 0) is False or truth(
                    u < size) is False:
                raise ShapeError(f"--unit: {axis} = {u} is not a unit of layer {target}, "
                                 f"whose output {axis} has units 0 to {size - 1}")
        report["unit"] = list(unit)
        report["region"] = {
            axis: {"from": first, "to": last, "elements": _elements(first, last, n)}
            for axis, (first, last), n in zip(
                axes, network.region(target, unit), spatial, strict=True)
        }
    return report


def _add_cases(entry: dict[str, Any], keys: Sequence[str]) -> None:
    """Put the presented cases of the entry's symbolic values under "cases" (JSON only)."""
    shown = _presented({k: entry[k] for k in keys})
    if shown:
        entry["cases"] = shown


def _far_padding(record: Record, stages: Sequence[Stage | None]) -> list[Any]:
    """Per axis, how far the layer's last window reaches past its input's end (in units of
    its input): the padding after, as used (p=same with an even kernel: one more than p)."""
    ins, outs = record.input_shape[1:], record.output_shape[1:]
    if len(ins) != len(stages) or len(outs) != len(stages):
        return [None] * len(stages)
    return [
        # the stage's window applied to one input element: the recursion's own step
        None if st is None else padding_after(
            advance(INPUT, Geometry(st.kernel, st.stride, st.padding, st.padding)), n, out)
        for st, n, out in zip(stages, ins, outs, strict=True)
    ]


def _fields(fields: Sequence[Field]) -> dict[str, Any]:
    return {"r": _axes([fd.size for fd in fields]), "j": _axes([fd.jump for fd in fields]),
            "start": _axes([fd.start for fd in fields])}


def _axes(values: Sequence[Any]) -> Any:
    """One value where every axis has the same, else the list."""
    return values[0] if len(set(map(str, values))) == 1 else list(values)


def _aligned(conditions: Sequence[Any]) -> Any:
    if not conditions:
        return None
    if all(c is True for c in conditions):
        return True
    if any(c is False for c in conditions):
        return False
    return sympy.And(*conditions)


def _elements(first: Any, last: Any, n: Value) -> list[Any]:
    """The input elements inside [first, last], padding left out."""
    return [sympy.Max(0, sympy.ceiling(first)), sympy.Min(n - 1, sympy.floor(last))]


def _json_default(value: Any) -> Any:
    return json_value(value)


def _show(value: Any) -> str:
    """A value as the text shows it: presented (cases in words, no Piecewise), per axis in
    parentheses."""
    if value is None:
        return "-"
    if isinstance(value, list):
        return "(" + ", ".join(_show(v) for v in value) + ")"
    return cases_text(cases(value))


def _symbolic(value: Any) -> bool:
    return isinstance(value, sympy.Basic) and bool(value.free_symbols)


def _presented(entries: dict[str, Any]) -> dict[str, Any]:
    """Beside the raw values of a JSON entry, their presented cases (symbolic values only;
    a per-axis list gives a list, None where an axis's value is a number)."""
    out: dict[str, Any] = {}
    for key, value in entries.items():
        if isinstance(value, list) and any(map(_symbolic, value)):
            out[key] = [cases_json(cases(v)) if _symbolic(v) else None for v in value]
        elif _symbolic(value):
            out[key] = cases_json(cases(value))
    return out


def _text(report: dict[str, Any]) -> str:
    columns = ("#", "layer", "k", "s", "p", "p after", "r", "j", "start")
    rows = [[str(row["index"]), row["layer"], *(_show(row[c]) for c in columns[2:])]
            for row in report["rows"]]
    table = aligned_table(columns, rows, left=("layer",))
    lines = ["receptive field r, jump j and start (the centre of unit 0; input element i is "
             "centred at i),", "one value per axis where the axes differ; k, s, p: each "
             "layer as one window, p after: how far its last window reaches past its input",
             table.rstrip(), ""]
    if "closed_forms" in report:
        u = report["unit_index"]
        lines.append(f"closed forms at layer {report['layer']} "
                     "(Araujo, Norris & Sim, Distill 2019):")
        groups: dict[str, list[str]] = {}
        for axis, cf in report["closed_forms"].items():
            groups.setdefault(str(cf), []).append(axis)
        for axes in groups.values():
            cf = report["closed_forms"][axes[0]]
            axis = ", ".join(axes)
            # the sum of the terms is shown where each term is one value (not cases)
            shown = [cases(t) for t in cf["terms"] if t != 0]
            terms = " + ".join(cases_text(t) for t in shown) or "0"
            middle = f"1 + {terms} = " if all(t.single for t in shown) else ""
            lines += [
                f"  {axis}: receptive field  1 + Σ (k_l - 1)·Π_{{i<l}} s_i = {middle}"
                f"{_show(cf['receptive_field'])}",
                f"     effective stride  Π s_l = {_show(cf['effective_stride'])}",
                f"     effective padding Σ p_l·Π_{{i<l}} s_i = {_show(cf['effective_padding'])}"
                f" (far side: {_show(cf['effective_padding_after'])})",
                f"     centre of unit {u}  {u}·S - P + (r - 1)/2 = {_show(cf['centre'])}",
            ]
        aligned = report["aligned"]
        if aligned is not None:
            words = {True: "yes", False: "no"}.get(aligned, f"where {condition_text(aligned)}")
            lines.append(f"  aligned (every path centres each unit alike): {words}")
    if "region" in report:
        unit = ", ".join(_show(u) for u in report["unit"])
        lines.append(f"unit ({unit}) of layer {report['layer']} sees:")
        for axis, region in report["region"].items():
            first, last = region["elements"]
            lines.append(f"  {axis}: positions {_show(region['from'])} to {_show(region['to'])}"
                         f", input elements {_show(first)} to {_show(last)}")
    return "\n".join(wrap_line(line) for line in lines) + "\n"
