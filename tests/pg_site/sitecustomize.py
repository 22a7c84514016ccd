"""Started by every Python process whose PYTHONPATH holds this folder (the test suite adds it
when ``MANGODESK_TEST_DATABASE=postgresql``): once ``mangodesk.store.db`` is imported, its
``Database`` opens PostgreSQL for SQLite file URLs, like the test process's own."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
from types import ModuleType
from typing import Any

TARGET = "mangodesk.store.db"


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != TARGET:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            from tests.database_switch import patch_database_class

            patch_database_class(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


if os.environ.get("MANGODESK_TEST_DATABASE", "").strip().lower() in ("postgresql", "postgres",
                                                                     "pg"):
    sys.meta_path.insert(0, _PatchAfterImport())
