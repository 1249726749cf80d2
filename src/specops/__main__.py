"""`python -m specops`."""

import sys

from specops.cli import main

sys.exit(main())
