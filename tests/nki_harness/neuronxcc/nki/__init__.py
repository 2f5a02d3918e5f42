"""Test double of legacy NKI (`import neuronxcc.nki as nki`, SDK 2.26): the
subset trnc emits, on NumPy. Not the real package: see
tests/nki_harness/README.md. Entry points as documented (nki-api.md §1):
`@nki.jit` (mode "simulation" runs on the CPU) and
`nki.simulate_kernel(kernel, *arrays)`.
"""

from nkisim.errors import NkiSyntaxError, NkiValidationError
from nkisim.kernel import Kernel, run

IS_TEST_DOUBLE = True

__all__ = ["IS_TEST_DOUBLE", "NkiSyntaxError", "jit", "simulate_kernel"]


def jit(func=None, mode="auto", **kwargs):
    if func is None:
        return lambda f: jit(f, mode=mode, **kwargs)
    return Kernel(func, "legacy", simulation=(mode == "simulation"))


def simulate_kernel(kernel, *args, **kwargs):
    """Runs the kernel on the CPU; every input and output is a numpy.ndarray."""
    try:
        return run(kernel, args, kwargs)
    except NkiValidationError as e:
        raise NkiSyntaxError(str(e)) from None
