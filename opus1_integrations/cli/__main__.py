"""``python -m opus1_integrations.cli``: the same as ``opus1-int``."""

import sys

from .main import main

sys.exit(main())
