"""``python -m sintegre.simulator`` entry point."""

import sys

from sintegre.simulator.cli import main

sys.exit(main())
