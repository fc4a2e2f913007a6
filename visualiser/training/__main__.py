"""``python -m visualiser.training``: train, evaluate and summarise the embedded models."""

import sys

from visualiser.training.cli import main

sys.exit(main())
