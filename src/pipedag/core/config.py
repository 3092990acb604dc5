"""``pipedag.core.config``: where pydiverse.pipedag programs import their configuration from.

The names live in :mod:`pipedag.config`; they are re-exported here so that such programs run
with only ``pydiverse.pipedag`` renamed to ``pipedag`` in their imports.
"""

from pipedag.config.context import ConfigContext
from pipedag.config.pipedag_config import PipedagConfig, create_basic_pipedag_config

__all__ = ["ConfigContext", "PipedagConfig", "create_basic_pipedag_config"]
