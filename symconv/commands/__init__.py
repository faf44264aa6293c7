"""The subcommands; each module offers `register(subparsers)` and sets `run` on its parser."""

from symconv.commands import check, rf, table

COMMANDS = (table, check, rf)
