"""``python -m peaklens`` runs the CLI, like the installed ``peaklens`` command."""

from peaklens.cli import main

main()
