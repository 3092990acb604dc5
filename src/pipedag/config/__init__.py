"""Configuration: which database an instance writes to and how it runs."""
