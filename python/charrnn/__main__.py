"""`python -m charrnn ...` is the `charrnn` command."""

import sys

from charrnn.cli import main

sys.exit(main())
