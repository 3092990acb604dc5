"""Pointing a one-line error at the user's own code: the ``file.py:line`` a task failed at."""

from __future__ import annotations

import sysconfig
import traceback
from pathlib import Path


def _is_library(filename: str) -> bool:
    """Whether a frame's file belongs to pipedag, an installed package or the standard library."""
    import pipedag

    own = str(Path(pipedag.__file__).resolve().parent)
    stdlib = sysconfig.get_paths()["stdlib"]
    return (
        filename.startswith("<")
        or str(Path(filename).resolve()).startswith(own)
        or "site-packages" in filename
        or "dist-packages" in filename
        or filename.startswith(stdlib)
    )


def user_location(exc: BaseException) -> str | None:
    """``file.py:line`` of the deepest frame of ``exc``'s traceback in the user's code, if any.

    Paths under the working folder are shown relative to it.
    """
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not _is_library(f.filename)]
    if not frames:
        return None
    path = Path(frames[-1].filename)
    try:
        shown = str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        shown = str(path)
    return f"{shown}:{frames[-1].lineno}"
