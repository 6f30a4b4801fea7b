"""``python -m pixelcnn_edu``: see :mod:`pixelcnn_edu.cli`."""

import sys

from .cli import main

sys.exit(main())
