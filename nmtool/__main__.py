import sys

from nmtool.cli import main

sys.exit(main())
