"""`python -m parley` runs the operator CLI."""

from parley.cli import main

main()
