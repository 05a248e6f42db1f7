"""Pause Python's cyclic garbage collector around work that builds many objects without reference cycles."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Turn the cyclic collector off for the block, and back on after it if it was on.

    For work that builds many short-lived objects holding no reference cycles (orders, pages, cases,
    decisions): reference counting frees them, and the collector would only walk them and every
    long-lived object again and again. Nested blocks leave it off until the outermost ends.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
