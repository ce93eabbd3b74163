"""Accord: the node software for cross-border cooperation against child-exploitation networks."""

__version__ = "0.1.0"
__all__ = ["__version__"]
