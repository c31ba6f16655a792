"""``python -m assistant``: the command line, as the ``assistant`` script runs it."""

from .frontends.cli import main

main()
