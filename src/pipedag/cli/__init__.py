"""The ``pipedag`` command line: run, plan, status, sql, shell, visualize and housekeeping."""
