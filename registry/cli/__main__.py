"""`python -m registry.cli`: the same as the `registry` command."""

from .main import main

main()
