"""`python -m pm_db` is the `pm` command."""

import sys

from pm_db.cli import main

sys.exit(main())
