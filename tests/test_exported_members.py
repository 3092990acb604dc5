"""The public API is exactly what `pipedag.__all__` lists."""

import pipedag


def test_all_lists_every_public_name() -> None:
    """Every public attribute of the package is in __all__, and __all__ is sorted."""
    public = {name for name in dir(pipedag) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(pipedag, name)).__name__ == "module"}
    assert set(pipedag.__all__) == public - modules
    assert pipedag.__all__ == sorted(pipedag.__all__)
