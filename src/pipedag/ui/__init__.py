"""``pipedag ui``: a local, read-only web page showing an instance's flows, runs, decisions and tables.

Needs the ``ui`` extra (``pip install "pipedag[ui]"``); imported only by the ``ui`` command.
"""
