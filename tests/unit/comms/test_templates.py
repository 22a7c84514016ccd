"""Templates: unknown variables refused at save, the door codes only where they make sense,
and the sandbox keeping a template away from Python internals."""

from __future__ import annotations

import pytest

from mangodesk.comms.templates import VARIABLES, check_template, render, variables_used
from mangodesk.domain.errors import ValidationError
from mangodesk.domain.template import TemplateContext

OK = TemplateContext.SCHEDULED_CHECKIN


def test_unknown_variable_is_refused_with_its_name_and_the_list() -> None:
    with pytest.raises(ValidationError) as caught:
        check_template("Hello", "Dear {{guest_nme}}, welcome", OK)
    error = caught.value
    assert "{{guest_nme}}" in error.message
    assert error.fix is not None
    for variable in VARIABLES:
        assert variable.placeholder in error.fix


def test_unknown_variable_in_the_subject_names_the_subject() -> None:
    with pytest.raises(ValidationError) as caught:
        check_template("Your room {{room}}", "Hi", OK)
    assert caught.value.field == "subject" and "{{room}}" in caught.value.message


@pytest.mark.parametrize("context", [TemplateContext.CANCELLATION, TemplateContext.BIRTHDAY])
def test_door_codes_refused_where_there_is_no_stay(context: TemplateContext) -> None:
    with pytest.raises(ValidationError) as caught:
        check_template("Cancelled", "Sorry.\n{{smart_lock_access_codes}}", context)
    assert "door codes" in caught.value.message
    assert context.label.lower() in caught.value.message


@pytest.mark.parametrize("context", [c for c in TemplateContext if c.allows_access_codes])
def test_door_codes_allowed_in_booking_messages(context: TemplateContext) -> None:
    check_template("Codes", "{{smart_lock_access_codes}}", context)


def test_broken_braces_are_a_clear_error() -> None:
    with pytest.raises(ValidationError) as caught:
        check_template("Hi", "Dear {{guest_name", OK)
    assert "line 1" in caught.value.message


def test_sandbox_refuses_python_internals() -> None:
    from jinja2.exceptions import SecurityError

    text = "{{ guest_name.__class__.__mro__[1].__subclasses__() }}"
    assert variables_used(text) == {"guest_name"}
    with pytest.raises(SecurityError):
        render(text, {"guest_name": "x"})


def test_render_keeps_codes_text_verbatim() -> None:
    codes = "Room 9: 1234\nRoom 10: No access code for these dates"
    assert render("{{smart_lock_access_codes}}", {"smart_lock_access_codes": codes}) == codes


def test_empty_subject_or_body_refused() -> None:
    with pytest.raises(ValidationError):
        check_template(" ", "x", OK)
    with pytest.raises(ValidationError):
        check_template("x", "\n", OK)
