"""The built-in signal types, one module each, registered through the ``accord_signal_types`` hook."""

__all__: list[str] = []
