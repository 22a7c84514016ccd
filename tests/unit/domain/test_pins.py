import random

import pytest

from mangodesk.domain.pinrules import PinRules
from mangodesk.domain.pins import (
    NoFreePinError,
    generate_pin,
    pin_problem,
    prefix_clash,
    weakness,
)

SIX = PinRules()
VARIABLE = PinRules(lengths=tuple(range(4, 10)), default_length=6, allow_leading_zero=False)


@pytest.mark.parametrize(
    "pin",
    ["0000", "1111", "1234", "4321", "123456", "654321", "1212", "7890", "0987", "123123",
     "909090"],
)
def test_weak_codes_are_recognised(pin: str) -> None:
    assert weakness(pin, "0123456789") is not None
    assert pin_problem(pin, PinRules(lengths=(4, 6), default_length=4)) is not None


@pytest.mark.parametrize("pin", ["4817", "902713", "1235", "112233", "120127"])
def test_ordinary_codes_are_not_weak(pin: str) -> None:
    assert weakness(pin, "0123456789") is None


def test_letters_count_in_alphabet_order() -> None:
    assert weakness("ABCD", "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") is not None
    assert weakness("H91L72", "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") is None


def test_problems_are_plain_language() -> None:
    assert pin_problem("123", VARIABLE) == "The code must be 4 to 9 digits."
    assert pin_problem("12a45", VARIABLE) == "The code may only contain digits."
    assert pin_problem("048213", VARIABLE) == "The code cannot start with 0 on these locks."
    message = pin_problem("1234", VARIABLE)
    assert message is not None and message.startswith("1234 is too easy to guess: ")
    assert pin_problem("1234", VARIABLE, allow_weak=True) is None
    assert pin_problem("482913", VARIABLE) is None
    assert pin_problem("12", PinRules(lengths=(4, 6, 8), default_length=4)) == (
        "The code must be 4, 6 or 8 digits."
    )


def test_generated_codes_obey_the_rules_many_times() -> None:
    rng = random.Random(7)
    taken = {"482913", "777777"}
    for _ in range(3000):
        pin = generate_pin(VARIABLE, taken, rng)
        assert pin_problem(pin, VARIABLE) is None
        assert pin not in taken
        assert len(pin) == 6 and pin[0] != "0"


def test_generated_codes_avoid_every_taken_code_when_nearly_full() -> None:
    rules = PinRules(lengths=(3,), default_length=3, alphabet="0123")
    every = {f"{a}{b}{c}" for a in "0123" for b in "0123" for c in "0123"}
    free = {p for p in every if weakness(p, "0123") is None}
    keep = sorted(free)[0]
    pin = generate_pin(rules, every - {keep}, random.Random(1))
    assert pin == keep
    with pytest.raises(NoFreePinError):
        generate_pin(rules, every, random.Random(1))


def test_prefix_overlap_is_avoided_where_the_vendor_forbids_it() -> None:
    rules = PinRules(lengths=(4, 5, 6), default_length=5, forbid_prefix_overlap=True)
    taken = [f"{n:04d}" for n in range(0, 10000, 3)] + ["98213"]
    rng = random.Random(3)
    for _ in range(500):
        pin = generate_pin(rules, taken, rng)
        assert not prefix_clash(pin, taken)
    assert prefix_clash("98213", ["9821"])
    assert prefix_clash("982", ["98213"])
    assert not prefix_clash("98214", ["98213"])


def test_without_rng_codes_come_from_secrets() -> None:
    pins = {generate_pin(SIX, ()) for _ in range(50)}
    assert len(pins) > 45
