"""Door codes: generate one a guest cannot guess and the lock will accept, or say why not.

Generation uses :mod:`secrets`; a caller may pass its own ``rng`` (anything with ``choice``)
so tests are reproducible. Weak codes are refused both when generated and when staff type
one (unless staff insist with ``allow_weak``).
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from itertools import pairwise
from typing import Protocol

from mangodesk.domain.errors import MangodeskError
from mangodesk.domain.pinrules import PinRules

GENERATION_ATTEMPTS = 2000


class ChoiceSource(Protocol):
    def choice(self, seq: Sequence[str]) -> str: ...


class NoFreePinError(MangodeskError):
    """Every code the rules allow is taken or weak (a tiny alphabet, a full lock)."""


def _describe_lengths(lengths: Sequence[int]) -> str:
    ordered = sorted(set(lengths))
    if len(ordered) == 1:
        return str(ordered[0])
    if ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{ordered[0]} to {ordered[-1]}"
    return ", ".join(str(n) for n in ordered[:-1]) + f" or {ordered[-1]}"


def _noun(rules: PinRules) -> str:
    return "digits" if set(rules.alphabet) <= set("0123456789") else "letters or digits"


def weakness(pin: str, alphabet: str) -> str | None:
    """Why ``pin`` is easy to guess, or None. Runs follow the order of ``alphabet``."""
    if len(pin) < 2:
        return None
    if len(set(pin)) == 1:
        return "all its characters are the same"
    for period in range(1, len(pin) // 2 + 1):
        if len(pin) % period == 0 and pin == pin[:period] * (len(pin) // period):
            return "it repeats the same short pattern"
    order = alphabet if all(ch in alphabet for ch in pin) else "0123456789"
    if all(ch in order for ch in pin):
        positions = [order.index(ch) for ch in pin]
        steps = {(b - a) % len(order) for a, b in pairwise(positions)}
        if steps == {1}:
            return "it counts up in a row"
        if steps == {len(order) - 1}:
            return "it counts down in a row"
    return None


def pin_problem(pin: str, rules: PinRules, *, allow_weak: bool = False) -> str | None:
    """A plain-language reason why the lock or good sense refuses ``pin``, or None if fine."""
    noun = _noun(rules)
    if len(pin) not in rules.lengths:
        return f"The code must be {_describe_lengths(rules.lengths)} {noun}."
    if any(ch not in rules.alphabet for ch in pin):
        return f"The code may only contain {noun}."
    if not rules.allow_leading_zero and pin.startswith("0"):
        return "The code cannot start with 0 on these locks."
    if not allow_weak:
        reason = weakness(pin, rules.alphabet)
        if reason is not None:
            return f"{pin} is too easy to guess: {reason}. Choose a less obvious code."
    return None


def prefix_clash(pin: str, taken: Collection[str]) -> bool:
    """True when ``pin`` is a prefix of a taken code or a taken code is a prefix of it."""
    return any(other.startswith(pin) or pin.startswith(other) for other in taken if other)


def generate_pin(
    rules: PinRules,
    taken: Collection[str],
    rng: ChoiceSource | None = None,
    *,
    length: int | None = None,
) -> str:
    """A random code of ``length`` (default: the vendor's default) that is not weak, not taken
    and, where the vendor forbids it, neither a prefix of nor prefixed by a taken code."""
    source: ChoiceSource = rng if rng is not None else secrets.SystemRandom()
    size = length if length is not None else rules.default_length
    if size not in rules.lengths:
        raise ValueError(f"length {size} is not allowed by these rules")
    taken_set = set(taken)
    prefixes: set[str] = set()
    if rules.forbid_prefix_overlap:
        for other in taken_set:
            prefixes.update(other[:n] for n in range(1, len(other) + 1))
    first_alphabet = rules.alphabet if rules.allow_leading_zero else rules.alphabet.replace("0", "")
    for _ in range(GENERATION_ATTEMPTS):
        pin = source.choice(first_alphabet) + "".join(
            source.choice(rules.alphabet) for _ in range(size - 1)
        )
        if pin in taken_set or weakness(pin, rules.alphabet) is not None:
            continue
        if rules.forbid_prefix_overlap and (
            pin in prefixes or any(pin[:n] in taken_set for n in range(1, size))
        ):
            continue
        return pin
    raise NoFreePinError(
        "No free door code is left for this lock.",
        "Remove old codes from the lock, or allow longer codes for it.",
    )
