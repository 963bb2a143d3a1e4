"""`python -m tinirun.cli`: the same as the `tinirun` command."""

import sys

from tinirun.cli import main

sys.exit(main())
