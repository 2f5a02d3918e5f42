"""The errors the double raises, worded like NKI's own (nki-api.md §7).

NKI 0.6 declares `NkiValidationError` ("Raised when hardware constraints
are violated") and its simulator raises AssertionError; the legacy compiler
raised SyntaxError-like errors. The double raises `NkiValidationError`, an
AssertionError, and the legacy front end turns it into `NkiSyntaxError`, a
SyntaxError (`neuronxcc/nki/_legacy.py`).
"""

import functools


class NkiValidationError(AssertionError):
    """A hardware rule or an API rule the kernel broke."""


class NkiSyntaxError(SyntaxError):
    """The legacy API's form of the same errors."""


class OutsideSubset(NotImplementedError):
    """A documented NKI feature this double does not model (it models the
    subset trnc emits); never a claim that NKI rejects it."""


def fail(message):
    raise NkiValidationError(message)


def check(condition, message):
    if not condition:
        raise NkiValidationError(message)


def partition_limit(n):
    """Allocation and operands: at most 128 partitions (nki-api.md §7)."""
    check(n <= 128, f"Size of partition dimension {n} exceeds architecture limitation of 128.")


def as_legacy(fn):
    """Re-raise the double's errors as the legacy API's SyntaxError."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except NkiValidationError as e:
            raise NkiSyntaxError(str(e)) from None

    return wrapper
