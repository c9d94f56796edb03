"""``python -m qbloodcell``: the ``qbloodcell`` command."""

import sys

from qbloodcell.cli import main

if __name__ == "__main__":
    sys.exit(main())
