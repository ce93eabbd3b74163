"""``python -m accord.cli`` and the ``accord`` command.

The command line is imported inside ``main()``, not at the top: a helper process started with the
``spawn`` method re-imports the parent's main module, and the parse helper of bulk intake would
otherwise spend about a second importing every command (measured: 1.1 s against 0.17 s for what it
runs) while the writer waits for its first batch.
"""


def main() -> None:
    from accord.cli.main import app

    app(prog_name="accord")


if __name__ == "__main__":
    main()
