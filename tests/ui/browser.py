"""Where the system Chromium is (shared by the page tests and ``benchmarks/ui.py``)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def chromium_path() -> str | None:
    """The system Chromium binary (the real one, not the launcher script, when both exist)."""
    for candidate in (os.environ.get("PIPEDAG_TEST_CHROMIUM"), "/usr/lib/chromium/chromium"):
        if candidate and Path(candidate).is_file():
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")
