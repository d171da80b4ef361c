"""Entry point for ``python -m kafka_local``."""

import sys

from kafka_local.cli import main

sys.exit(main())
