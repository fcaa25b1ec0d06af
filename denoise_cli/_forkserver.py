"""What the worker fork server imports before it forks any worker (``batch.FORKSERVER_PRELOAD``).

Importing this module runs ``preload.load_heavy_modules``; nothing else should import it.
"""

from .deferred import defer_unused_torch_modules
from .preload import load_heavy_modules

defer_unused_torch_modules()
load_heavy_modules()
