"""The subcommands; each module offers `register(subparsers)` and sets `run` on its parser."""

from symconv.commands import check, table
from symconv.commands import design, solve
from symconv.commands import derive, formulas, notes
from symconv.commands import rf

COMMANDS = (table, check, derive, notes, formulas, solve, design, rf)
