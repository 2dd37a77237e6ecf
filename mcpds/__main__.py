import sys

from mcpds.cli import main

sys.exit(main())
