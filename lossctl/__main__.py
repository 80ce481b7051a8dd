"""``python -m lossctl`` runs the command-line interface."""

from lossctl.cli import main

main()
