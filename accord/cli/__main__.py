"""``python -m accord.cli``: the same as the ``accord`` command."""

from accord.cli.main import app

app(prog_name="accord")
