"""The ``opus1-int`` command line: a front door that renders what the services return.

``main`` is the entry point; ``make_cli`` builds the click group (tests build it with their own plugins).
"""

from .app import make_cli
from .main import main

__all__ = ["main", "make_cli"]
