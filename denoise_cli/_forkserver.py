"""What the worker fork server imports before it forks any worker (``batch.FORKSERVER_PRELOAD``).

Importing this module runs ``preload.load_heavy_modules``; nothing else should import it.
"""

from .preload import load_heavy_modules

load_heavy_modules()
