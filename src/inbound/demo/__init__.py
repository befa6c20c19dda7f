"""A synthetic history to look at: `inbound demo`, and the data set of the report benchmark."""

from inbound.demo.load import DatabaseNotEmpty, DemoSummary, Loaded, fill_demo, load_history

__all__ = ["DatabaseNotEmpty", "DemoSummary", "Loaded", "fill_demo", "load_history"]
