"""``python -m sintegre_dev.simulator`` entry point."""

import sys

from sintegre_dev.simulator.cli import main

sys.exit(main())
