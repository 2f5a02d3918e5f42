"""Test double of NKI 0.6 (`import nki`): the subset trnc emits, on NumPy.

Not the real package: see tests/nki_harness/README.md. Entry points as
documented (nki-api.md §1): `@nki.jit` and `nki.simulate(kernel)(*arrays)`.
"""

from nkisim.errors import NkiValidationError
from nkisim.kernel import Kernel, run

IS_TEST_DOUBLE = True

__all__ = ["IS_TEST_DOUBLE", "NkiValidationError", "jit", "simulate"]


def jit(fn=None, **kwargs):
    """`@nki.jit` or `@nki.jit()`; `platform_target=` is an error since 0.3."""
    if "platform_target" in kwargs:
        raise TypeError("nki.jit() got an unexpected keyword argument 'platform_target' (removed in NKI 0.3)")
    if fn is None:
        return lambda f: Kernel(f, "current")
    return Kernel(fn, "current")


def simulate(kernel):
    """`nki.simulate(kernel)(*args)`: runs on the CPU, NumPy in and out."""

    def call(*args, **kwargs):
        return run(kernel, args, kwargs)

    return call
