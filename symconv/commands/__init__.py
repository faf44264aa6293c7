"""The subcommands; each module offers `register(subparsers)` and sets `run` on its parser."""

from symconv.commands import check, table

COMMANDS = (table, check)
