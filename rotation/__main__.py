"""`python -m rotation`: see rotation/cli.py."""

import sys

from rotation.cli import main

sys.exit(main())
