"""Run every core benchmark: ``python -m benchmarks``."""

from benchmarks import flow_overhead, ingest, sibling_change, table_types

if __name__ == "__main__":
    flow_overhead.main()
    sibling_change.main()
    ingest.main()
    table_types.main()
