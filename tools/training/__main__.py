"""``python -m tools.training``: train, evaluate and summarise the embedded models."""

import sys

from tools.training.cli import main

sys.exit(main())
