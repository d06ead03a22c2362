"""The puzzle families, one module each.

Public API: `FAMILIES`, a read-only mapping from family name to `Family`, in a fixed order.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ted.tasks.synth.families import angles, bars, clock, counting, grid_paths, odd_one_out
from ted.tasks.synth.family import Family

FAMILIES: Mapping[str, Family] = MappingProxyType(
    {module.FAMILY.name: module.FAMILY for module in (counting, bars, clock, grid_paths, odd_one_out, angles)}
)

__all__ = ["FAMILIES"]
