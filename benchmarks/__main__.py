"""`python -m benchmarks [--scenario NAME ...] [--list] [--quick]`; see benchmarks/README.md."""

import sys

from benchmarks.harness import main

sys.exit(main())
