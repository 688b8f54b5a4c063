"""``python -m mnemo_dagster.cli``: the same as the ``mnemo`` command."""

import sys

from mnemo_dagster.cli import main

if __name__ == "__main__":
    sys.exit(main())
