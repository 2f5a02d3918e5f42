"""Test double of `nki.language` (NKI 0.6): dtypes, buffers, `ndarray`,
and the operator tokens (nki-api.md §2, §6). Tensors index with slices and
`.ap(pattern=..., offset=...)` (nki-api.md §3)."""

import itertools

from nkisim.dtypes import CURRENT_DTYPES, DType
from nkisim.errors import NkiValidationError
from nkisim.ops import OPS
from nkisim.tensor import Buffer, allocate, hbm, private_hbm, psum, sbuf, shared_hbm

__all__ = ["hbm", "ndarray", "private_hbm", "psum", "sbuf", "shared_hbm"]

globals().update(CURRENT_DTYPES)
globals().update(OPS)
__all__ += list(CURRENT_DTYPES) + list(OPS)

_names = itertools.count()


def ndarray(shape, dtype, buffer=sbuf, name="", address=None):
    """A new tensor; memory not initialised (the double fills NaN, or 4 for ints)."""
    if not isinstance(dtype, DType):
        raise NkiValidationError(f"dtype {dtype!r} must be a nki.language data type")
    if not isinstance(buffer, Buffer):
        raise NkiValidationError(f"buffer {buffer!r} must be a buffer object such as nl.sbuf (strings and ints fail)")
    if address is not None:
        raise NotImplementedError("explicit addresses are outside the double's subset")
    return allocate(shape, dtype, buffer, name or f"tensor{next(_names)}", "current")
