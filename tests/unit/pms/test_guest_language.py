"""Beds24's ``lang`` (and any PMS's language field) read as the code templates use."""

from __future__ import annotations

import pytest

from mangodesk.pms.base import guest_language


@pytest.mark.parametrize(("given", "code"), [
    ("de", "de"), ("DE", "de"), (" en ", "en"), ("de-AT", "de"), ("pt_BR", "pt"),
    ("", None), ("  ", None), ("12", None), (None, None), (7, None), ("deutsch", None),
])
def test_a_language_field_is_read_as_a_language_code(given: object, code: str | None) -> None:
    assert guest_language(given) == code
