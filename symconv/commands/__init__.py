"""The subcommands; each module offers `register(subparsers)` and sets `run` on its parser."""

from symconv.commands import check, derive, formulas, notes, rf, table
from symconv.commands import design, solve

COMMANDS = (table, check, rf, derive, notes, formulas, solve, design)
