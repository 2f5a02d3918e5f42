"""Kernels: `@nki.jit` functions, run on NumPy arrays (nki-api.md §1).

The double has no NeuronCore: a kernel runs under `nki.simulate(kernel)`
(NKI 0.6), `nki.simulate_kernel(kernel, ...)` or `@nki.jit(mode="simulation")`
(legacy); calling it directly otherwise is an error, as it would be on a
machine without Neuron devices. Every loop runs every iteration (Python
executes the kernel body), so results match NKI's unrolled or compiled loops.
"""

import inspect

import numpy as np

from .errors import NkiValidationError, check
from .tensor import Tensor, hbm, hbm_argument, private_hbm, shared_hbm


class Kernel:
    def __init__(self, fn, dialect, simulation=False):
        self.fn = fn
        self.dialect = dialect
        self.simulation = simulation
        self.__name__ = getattr(fn, "__name__", "kernel")
        self.__doc__ = getattr(fn, "__doc__", None)

    def __getitem__(self, grid):
        # `kernel[lnc]` (0.6) or an SPMD grid (legacy): one core here.
        return self

    def __call__(self, *args, **kwargs):
        if self.simulation:
            return run(self, args, kwargs)
        raise RuntimeError(
            f"{self.__name__}: the NKI test double has no NeuronCore; run it with "
            + ("nki.simulate(kernel)(...)" if self.dialect == "current" else "nki.simulate_kernel(kernel, ...)")
        )


def run(kernel, args, kwargs=None):
    """Runs the kernel on NumPy arrays; returns NumPy arrays shaped like its result."""
    kwargs = kwargs or {}
    fn = kernel.fn if isinstance(kernel, Kernel) else kernel
    dialect = kernel.dialect if isinstance(kernel, Kernel) else "current"
    params = list(inspect.signature(fn).parameters)
    tensors = []
    for i, a in enumerate(args):
        if isinstance(a, np.ndarray):
            name = params[i] if i < len(params) else f"arg{i}"
            tensors.append(hbm_argument(a, name, dialect))
        elif dialect == "legacy" and not isinstance(a, (int, float, str, tuple, type(None))):
            raise NkiValidationError(f"simulate_kernel takes numpy.ndarray arguments, got {type(a).__name__}")
        else:
            tensors.append(a)
    result = fn(*tensors, **kwargs)
    # An argument the kernel wrote is updated in place (nki.simulate, nki-api.md §1).
    for a, t in zip(args, tensors):
        if isinstance(t, Tensor):
            data = t.storage.data.reshape(a.shape)
            if not np.array_equal(data, a, equal_nan=a.dtype.kind == "f"):
                a[...] = data
    return _to_numpy(result, dialect)


def _to_numpy(result, dialect):
    if isinstance(result, tuple):
        return tuple(_to_numpy(r, dialect) for r in result)
    if isinstance(result, Tensor):
        if dialect == "current":
            check(result.buffer is not private_hbm, "kernel outputs must be nl.shared_hbm tensors; nl.hbm outputs fail")
        check(result.buffer in (shared_hbm, hbm), f"a kernel returns HBM tensors, not {result.describe()}")
        return np.array(result.read("output"))
    return result
