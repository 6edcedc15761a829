import sys

from metrotwin.cli import main

sys.exit(main())
