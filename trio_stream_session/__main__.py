"""``python -m trio_stream_session``: the command line."""

import sys

from ._cli import main

sys.exit(main())
