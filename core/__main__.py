"""`python -m core <command>`: see `core.cli.main`."""

import sys

from core.cli.main import main

sys.exit(main())
