"""Types of the C core built from _pdq_index.c (setup.py); accord.signals.pdq_index is its only user.

Arguments are any C-contiguous buffer: int64 ids, 32 bytes per hash. NumPy's stubs do not declare ndarray a
Buffer under Python 3.11, hence the union.
"""

import numpy as np
from typing_extensions import Buffer

_Buf = Buffer | np.ndarray

CHUNKS: int

class Index:
    def __len__(self) -> int: ...
    def add(self, ids: _Buf, hashes: _Buf, /) -> None: ...
    def remove(self, ids: _Buf, /) -> int: ...
    def search(self, queries: _Buf, threshold: int, scan: bool, /) -> tuple[bytes, bytes, bytes]: ...
    def export(self) -> tuple[bytes, bytes]: ...
