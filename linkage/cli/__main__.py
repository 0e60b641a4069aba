"""Run the command line as python -m linkage.cli."""

from linkage.cli import main

raise SystemExit(main())
