"""Message templates in Jinja2's sandbox: staff write ``{{guest_name}}``; a template naming
a variable we do not know is refused when it is saved, never at send time.

The sandbox keeps a template from reaching Python internals, and StrictUndefined makes any
variable the checks missed fail loudly instead of silently rendering as nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from mangodesk.domain.errors import ValidationError
from mangodesk.domain.template import TemplateContext

if TYPE_CHECKING:
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

ACCESS_CODES = "smart_lock_access_codes"


@dataclass(frozen=True)
class Variable:
    name: str
    group: str
    description: str

    @property
    def placeholder(self) -> str:
        return "{{" + self.name + "}}"


VARIABLES: tuple[Variable, ...] = (
    Variable("guest_name", "Booking", "The guest's name as the booking has it"),
    Variable("booking_number", "Booking", "The booking number in the PMS"),
    Variable("arrival", "Booking", "Check-in date and time, hotel time"),
    Variable("departure", "Booking", "Check-out date and time, hotel time"),
    Variable("unit_names", "Booking", "The booked rooms, comma separated"),
    Variable("property_name", "Property", "The hotel's name"),
    Variable(ACCESS_CODES, "Smart Locks",
             "One 'Room: CODE' line per booked room with a lock"),
)
VARIABLE_NAMES = frozenset(v.name for v in VARIABLES)


@lru_cache(maxsize=1)
def _environment() -> SandboxedEnvironment:
    """Built on first use, so a CLI command that sends no mail never imports Jinja2."""
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
    )


def variables_used(text: str, *, field: str = "body") -> set[str]:
    """The variables a template text names; a syntax error is a ValidationError."""
    import jinja2
    from jinja2 import meta

    try:
        parsed = _environment().parse(text)
    except jinja2.TemplateSyntaxError as exc:
        raise ValidationError(
            f"The {field} cannot be read as a template (line {exc.lineno}: {exc.message}).",
            field=field,
            fix="Variables are written like {{guest_name}}; check the braces.",
        ) from exc
    return set(meta.find_undeclared_variables(parsed))


def check_template(subject: str, body: str, context: TemplateContext) -> None:
    """Refuse what would fail or mislead at send time: unknown variables (named, with the
    list of known ones), and the door codes in a message where codes make no sense."""
    if not subject.strip():
        raise ValidationError("A message needs a subject.", field="subject")
    if not body.strip():
        raise ValidationError("A message needs some text.", field="body")
    for field, text in (("subject", subject), ("body", body)):
        used = variables_used(text, field=field)
        unknown = sorted(used - VARIABLE_NAMES)
        if unknown:
            names = ", ".join("{{" + n + "}}" for n in unknown)
            known = ", ".join(v.placeholder for v in VARIABLES)
            raise ValidationError(
                f"The {field} uses {names}, which Mangodesk does not know.",
                field=field,
                fix=f"Use one of: {known}.",
            )
        if ACCESS_CODES in used and not context.allows_access_codes:
            raise ValidationError(
                f"The door codes cannot go into {context.label.lower()}: the guest has no "
                "stay to open doors for.",
                field=field,
                fix="Remove {{" + ACCESS_CODES + "}} from this message.",
            )


@lru_cache(maxsize=256)
def _compiled(text: str) -> jinja2.Template:
    """Compiling is most of a render's cost; a burst renders the same few texts."""
    return _environment().from_string(text)


def render(text: str, values: Mapping[str, str]) -> str:
    """Render one checked template text with the booking's values."""
    import jinja2

    try:
        return _compiled(text).render(dict(values))
    except jinja2.UndefinedError as exc:  # a template saved before a variable was removed
        raise ValidationError(f"The message names a variable Mangodesk does not know ({exc}).",
                              field="body") from exc
