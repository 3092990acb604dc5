"""Cache keys and the explanation of every cache decision."""
