"""``python -m takeback.cli``: the same as the ``takeback`` console script."""

import sys

from . import main

sys.exit(main())
