"""The subcommands; each module offers `register(subparsers)` and sets `run` on its parser."""

from symconv.commands import check, derive, design, draw, formulas, notes, rf, solve, table

COMMANDS = (table, check, rf, derive, notes, formulas, solve, design, draw)
