import sys

from sagepred.cli import main

sys.exit(main())
