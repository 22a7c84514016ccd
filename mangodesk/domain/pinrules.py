"""What a PIN may look like on a vendor's locks (declared by each adapter)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PinRules:
    lengths: tuple[int, ...] = (6,)
    default_length: int = 6
    alphabet: str = "0123456789"
    allow_leading_zero: bool = True
    forbid_prefix_overlap: bool = False  # a PIN may not be a prefix of another on the lock

    def __post_init__(self) -> None:
        if self.default_length not in self.lengths:
            raise ValueError("default_length must be one of lengths")
