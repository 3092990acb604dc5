"""pipedag's logger: structlog, one concise INFO line per task, details at DEBUG.

pipedag does not touch the application's global structlog configuration; it wraps its own
logger whose level comes from ``$PIPEDAG_LOG_LEVEL`` (default ``INFO``) or :func:`set_level`.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import structlog

_LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING, "ERROR": logging.ERROR}


def _build(level: int) -> Any:
    return structlog.wrap_logger(
        structlog.PrintLogger(sys.stderr),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="%H:%M:%S"),
            structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty(), sort_keys=False),
        ],
    )


def _level_from_env() -> int:
    name = os.environ.get("PIPEDAG_LOG_LEVEL", "INFO").upper()
    return _LEVELS.get(name, logging.INFO)


logger: Any = _build(_level_from_env())


def set_level(level: str) -> None:
    """Set pipedag's log level: ``DEBUG``, ``INFO``, ``WARNING`` or ``ERROR``."""
    global logger
    if level.upper() not in _LEVELS:
        raise ValueError(f"Unknown log level {level!r}; use one of {', '.join(_LEVELS)}.")
    logger = _build(_LEVELS[level.upper()])


def get_logger() -> Any:
    """The current pipedag logger (re-read so that :func:`set_level` takes effect)."""
    return logger
