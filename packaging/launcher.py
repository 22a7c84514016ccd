"""Entry script of the one-folder build: the same ``main`` as the ``mangodesk`` command."""

import sys

from mangodesk.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
