"""``python -m opus1_mailchimp.sandbox``."""

from .cli import main

raise SystemExit(main())
