"""``python -m accord.cli``: the same as the ``accord`` command."""

from accord.cli.main import app

if __name__ == "__main__":  # guarded: helper processes re-import this module
    app(prog_name="accord")
