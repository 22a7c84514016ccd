"""Packaging tests touch Qt windows offscreen; the offscreen platform's notes are not ours."""

from __future__ import annotations

import pytest

OFFSCREEN_NOISE = r"This plugin does not support (propagateSizeHints|raise|requestActivate)\(\)"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/packaging/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.qt_log_ignore(OFFSCREEN_NOISE))
