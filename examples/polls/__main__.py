"""``python -m examples.polls [--db FILE] [--host HOST] [--port PORT]``."""

import sys

from .main import main

main(sys.argv[1:])
