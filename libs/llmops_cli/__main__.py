import sys

from llmops_cli.app import main

sys.exit(main())
