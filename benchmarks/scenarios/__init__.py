"""Scenario modules, one per family. Every module here is imported by `discover()`, so a new
family is a new file whose functions carry `@scenario(...)` (benchmarks.harness); modules whose
name starts with an underscore are skipped (use them for shared helpers)."""

from __future__ import annotations

import importlib
import pkgutil


def discover() -> list[str]:
    """Import every scenario module in this package; returns their names."""
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
    for name in names:
        importlib.import_module(f"{__name__}.{name}")
    return names
