"""`python -m actionstream` is the `actionstream` command."""

from actionstream.cli import app

app(prog_name="actionstream")
