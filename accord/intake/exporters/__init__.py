"""Exporters, one module per format, each registered through ``accord.plugins`` hooks."""
