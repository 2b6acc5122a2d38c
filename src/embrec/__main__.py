"""``python -m embrec``: the command line (also what ``torchrun -m embrec`` runs)."""

from embrec.cli.main import app

app()
