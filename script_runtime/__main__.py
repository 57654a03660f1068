"""Entry point for `python -m script_runtime`."""

import sys

from script_runtime.cli import main

if __name__ == "__main__":
    sys.exit(main())
