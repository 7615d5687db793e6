"""Give freed heap memory back to the operating system, where the C library allows it.

numpy arrays of a few KB to a few hundred KB (a fitted reader's weights, a slice of the
corpus) come from glibc's heap; when freed, glibc keeps the pages for reuse, so after a
sweep the process looked as large as at its busiest. `malloc_trim(0)` returns the free
pages at the top and inside the heap's arenas. Linux with glibc only (musl and other
systems have no such call: there this does nothing); it changes no Python object.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import logging
import sys
from collections.abc import Callable

log = logging.getLogger(__name__)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim  # glibc's; musl has none (AttributeError)
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_freed_memory() -> bool:
    """Collect garbage, then trim the C heap; whether a trim was possible here.

    A few milliseconds: for after a big piece of work, not for every call.
    """
    gc.collect()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
