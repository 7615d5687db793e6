"""`python -m adapters.cli`: the same as the `paperbot` console script."""

import sys

from adapters.cli import main

sys.exit(main())
