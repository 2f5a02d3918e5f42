"""Tensors: storage in one buffer, and views of it.

A view is a storage plus an array of flat element indices with the view's
shape, so slices, `.ap` access patterns and `nl.arange` index expressions
are all the same thing: which storage elements, in which order. Every view
shares its storage (nki-api.md §3).

PSUM elements remember who last wrote them: nothing (reading that is an
error: PSUM is not initialised), the Tensor Engine (matmul, transpose:
accumulation may follow), another engine, or `nl.zeros` (the legacy
accumulator's initial zeros).
"""

import numpy as np

from . import dtypes
from .errors import NkiValidationError, OutsideSubset, check, fail, partition_limit

UNWRITTEN, TENSOR_ENGINE, OTHER_ENGINE, ZEROED = 0, 1, 2, 3


class Buffer:
    """A memory: `nl.sbuf`, `nl.psum`, `nl.hbm` / `nl.private_hbm`, `nl.shared_hbm`."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"nl.{self.name}"

    @property
    def on_chip(self):
        return self.name in ("sbuf", "psum")


sbuf, psum, private_hbm, shared_hbm = Buffer("sbuf"), Buffer("psum"), Buffer("private_hbm"), Buffer("shared_hbm")
hbm = private_hbm


class Storage:
    def __init__(self, shape, dtype_token, buffer, name, dialect, data=None):
        npd = dtypes.np_dtype(dtype_token)
        size = int(np.prod(shape, dtype=np.int64))
        if data is None:
            data = np.full(size, dtypes.fill_value(npd)).astype(npd)
        self.data = np.ascontiguousarray(data).reshape(-1)
        self.shape = tuple(shape)
        self.token = dtype_token
        self.buffer = buffer
        self.name = name
        self.dialect = dialect
        self.state = np.full(size, UNWRITTEN, np.uint8) if buffer is psum else None


def allocate(shape, dtype_token, buffer, name, dialect, data=None):
    shape = tuple(int(d) for d in shape)
    if buffer.on_chip:
        check(len(shape) >= 2, f"on-chip tensor '{name}' has shape {shape}; SBUF/PSUM tensors are at least 2-D")
        partition_limit(shape[0])
    st = Storage(shape, dtype_token, buffer, name, dialect, data)
    return Tensor(st, np.arange(st.data.size, dtype=np.int64).reshape(shape))


class Tensor:
    def __init__(self, storage, index):
        self.storage = storage
        self.index = index

    # -- what it is ---------------------------------------------------------
    @property
    def shape(self):
        return tuple(self.index.shape)

    @property
    def dtype(self):
        return self.storage.token

    @property
    def np_dtype(self):
        return self.storage.data.dtype

    @property
    def buffer(self):
        return self.storage.buffer

    @property
    def name(self):
        return self.storage.name

    def describe(self):
        return f"{self.buffer.name} tensor '{self.name}'{list(self.shape)}"

    @property
    def partitions(self):
        return self.shape[0] if self.shape else 1

    @property
    def free_size(self):
        return int(np.prod(self.shape[1:], dtype=np.int64))

    # -- reading and writing ------------------------------------------------
    def read(self, role="operand"):
        """The values as stored; PSUM nothing wrote is an error."""
        flat = self.index.reshape(-1)
        if self.storage.state is not None:
            unwritten = self.storage.state[flat] == UNWRITTEN
            if unwritten.any():
                fail(f"{role} reads {self.describe()}, which no instruction has written (PSUM is not initialised)")
        return self.storage.data[flat].reshape(self.shape)

    def write(self, values, writer):
        """Stores values already in this tensor's dtype, in row-major order."""
        values = np.asarray(values).reshape(-1)
        check(values.size == self.index.size, f"writing {values.size} elements into {self.describe()}")
        flat = self.index.reshape(-1)
        self.storage.data[flat] = values
        if self.storage.state is not None:
            self.storage.state[flat] = writer

    def psum_state(self):
        return None if self.storage.state is None else self.storage.state[self.index.reshape(-1)]

    # -- views --------------------------------------------------------------
    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        advanced = [k for k in key if _is_advanced(k)]
        if advanced:
            return self._advanced(key)
        return self._basic(key)

    def _basic(self, key):
        key = _expand_ellipsis(key, len(self.shape))
        check(len(key) <= len(self.shape), f"too many indices for {self.describe()}")
        subs, kept_int = [], []
        for d, k in enumerate(key):
            n = self.shape[d]
            if isinstance(k, slice):
                start, stop, step = k.indices(n)
                raw_stop = n if k.stop is None else k.stop
                raw_start = 0 if k.start is None else k.start
                if raw_stop > n or raw_start > n or raw_start < -n:
                    fail(f"access out of bounds: [{raw_start}:{raw_stop}] on dimension {d} of {self.describe()}")
                subs.append(slice(start, stop, step))
            elif isinstance(k, (int, np.integer)):
                i = int(k) + (n if k < 0 else 0)
                check(0 <= i < n, f"index {k} out of bounds on dimension {d} of {self.describe()}")
                subs.append(i)
                kept_int.append(d)
            else:
                raise OutsideSubset(f"index {k!r} is outside the double's subset")
        index = self.index[tuple(subs)]
        if self.buffer.on_chip:
            index = _keep_on_chip_dims(self, key, index, kept_int)
        return Tensor(self.storage, index)

    def _advanced(self, key):
        if any(isinstance(k, slice) or k is Ellipsis for k in key):
            fail("Mixing basic tensor indexing and advanced tensor indexing is not supported.")
        if self.storage.dialect != "legacy":
            raise OutsideSubset("nl.arange index expressions are legacy NKI; NKI 0.6 indexes with slices or .ap")
        arrays = []
        for k in key:
            values = _index_values(k)
            if values.ndim == 1:
                fail("1D arange is not supported as an index; use nl.arange(n)[:, None] or nl.arange(n)[None, :]")
            arrays.append(values)
        check(len(arrays) <= len(self.shape), f"too many indices for {self.describe()}")
        for d, a in enumerate(arrays):
            if a.size and (a.min() < 0 or a.max() >= self.shape[d]):
                fail(f"access out of bounds on dimension {d} of {self.describe()}")
        return Tensor(self.storage, self.index[tuple(arrays)])

    def ap(self, pattern, offset=None, scalar_offset=None, vector_offset=None, indirect_dim=0, dtype=None):
        """`[[stride, count], ...]` over the storage, from `offset` (nki-api.md §3)."""
        if self.storage.dialect != "current":
            raise AttributeError("'.ap' is NKI 0.6 API; legacy tensors have no access patterns")
        if scalar_offset is not None or dtype is not None or indirect_dim != 0:
            raise OutsideSubset(".ap with scalar_offset, dtype or indirect_dim != 0 is outside the double's subset")
        pattern = [tuple(int(x) for x in pair) for pair in pattern]
        check(all(len(p) == 2 and p[1] >= 0 for p in pattern), f"pattern {pattern} is not [[stride, count], ...]")
        base = int(self.index.reshape(-1)[0]) if offset is None and self.index.size else int(offset or 0)
        index = np.full([n for _, n in pattern], base, dtype=np.int64)
        for d, (stride, count) in enumerate(pattern):
            shape = [1] * len(pattern)
            shape[d] = count
            index = index + stride * np.arange(count, dtype=np.int64).reshape(shape)
        if vector_offset is not None:
            # Indirect: the first dimension's index comes from the (P, 1) SBUF tile.
            check(not self.buffer.on_chip, "vector_offset applies to HBM tensors only")
            check(vector_offset.buffer is sbuf, "vector_offset must be an SBUF tensor")
            rows = vector_offset.read("vector_offset").reshape(-1).astype(np.int64)
            check(rows.size == pattern[0][1], f"vector_offset has {rows.size} rows but the pattern {pattern[0][1]}")
            shape = [1] * len(pattern)
            shape[0] = rows.size
            index = index + (rows.reshape(shape) - np.arange(rows.size).reshape(shape)) * pattern[0][0]
        if self.buffer.on_chip and pattern:
            check(pattern[0][0] == self.free_size, "on-chip .ap: the first pair must be [free size, partitions]")
        if index.size and (index.min() < 0 or index.max() >= self.storage.data.size):
            fail(f"access pattern {pattern} from offset {base} is out of bounds of {self.describe()} (oob_mode.error)")
        return Tensor(self.storage, index)

    def __setitem__(self, key, value):
        if self.storage.dialect != "legacy":
            raise OutsideSubset("assignment into tensors is outside the double's NKI 0.6 subset; use nisa.tensor_copy")
        from .legacy_assign import assign

        assign(self[key], value)

    def __iadd__(self, value):
        if self.storage.dialect != "legacy":
            raise OutsideSubset("+= on tensors is outside the double's NKI 0.6 subset")
        from .legacy_assign import accumulate

        return accumulate(self, value)

    def __repr__(self):
        return f"<{self.describe()} {self.storage.token}>"


def _is_advanced(k):
    return hasattr(k, "index_values") or isinstance(k, (Tensor, np.ndarray))


def _index_values(k):
    if isinstance(k, (int, np.integer)):
        return np.asarray(int(k))
    if isinstance(k, Tensor):
        # Indirect indexing: the values of an SBUF tile (nki-api.md §3, L).
        check(k.buffer is sbuf, "indirect indices must be in SBUF")
        return k.read("index").astype(np.int64)
    if hasattr(k, "index_values"):
        return k.index_values()
    raise NkiValidationError(f"unsupported index {k!r}")


def _expand_ellipsis(key, rank):
    if Ellipsis not in key:
        return key
    i = key.index(Ellipsis)
    fill = rank - (len(key) - 1)
    return key[:i] + (slice(None),) * fill + key[i + 1 :]


def _keep_on_chip_dims(t, key, index, int_dims):
    """On chip an integer keeps the partition dimension (size 1); on a free
    dimension it drops it unless fewer than 2 dimensions would remain
    (NKI 0.6, nki-api.md §3). Legacy: an integer keeps a size-1 dimension."""
    if not int_dims:
        return index
    rank = len(t.shape)
    if t.storage.dialect == "legacy":
        drop = set()
    else:
        drop = {d for d in int_dims if d != 0}
        while drop and rank - len(drop) < 2:
            drop.discard(max(drop))
    subs = []
    for d in range(rank):
        k = key[d] if d < len(key) else slice(None)
        if d in int_dims:
            i = int(k) % t.shape[d]
            k = slice(i, i + 1)
        subs.append(k)
    full = t.index[tuple(subs)]
    return full.reshape([n for d, n in enumerate(full.shape) if d not in drop])


def hbm_argument(array, name, dialect):
    """A NumPy kernel argument as an HBM tensor (nki.simulate, nki-api.md §1)."""
    array = np.asarray(array)
    token = array.dtype if dialect == "legacy" else current_token(array.dtype)
    return allocate(array.shape, token, hbm, name, dialect, data=array.copy())


def current_token(npd):
    for d in dtypes.CURRENT_DTYPES.values():
        if d.np == np.dtype(npd):
            return d
    raise NkiValidationError(f"dtype {npd} has no nki.language equivalent")
