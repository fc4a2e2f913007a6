"""``python -m visualiser``: the command-line interface."""

import sys

from visualiser.cli import main

sys.exit(main())
