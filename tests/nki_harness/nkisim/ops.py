"""The `nl.` operator tokens: ALU operators for tensor_tensor, tensor_scalar
and tensor_reduce, and activation functions for `activation` (nki-api.md §6).
Each computes in float64 on fp32 inputs; callers round to fp32.

The tokens are not callable here: the language-level functions (`nl.add(x,
y)`) are outside the subset trnc emits.
"""

import math

import numpy as np

from .errors import NkiValidationError

_erf = np.vectorize(math.erf, otypes=[np.float64])
_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def _sigmoid(x):
    with np.errstate(over="ignore"):
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _relu(x):
    return np.where(np.isnan(x) | (x > 0), x, 0.0)


def _gelu_tanh(x):
    # 0.5 x (1 + tanh(u)) = x sigmoid(2u), precise where tanh(u) ≈ -1.
    return x * _sigmoid(2.0 * math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3))


def _sin(x):
    # ScalarE's sin does no range reduction: invalid outside [-π, π] (§6).
    if np.any(np.abs(x) > math.pi):
        raise NkiValidationError("sin is only valid on [-pi, pi]; the Scalar Engine does no range reduction")
    return np.sin(x)


def _truth(b):
    return b.astype(np.float64)


class Op:
    def __init__(self, name, alu=None, act=None, reduces=False, unary=False):
        self.name = name
        self.alu = alu
        self.act = act
        self.reduces = reduces
        self.unary = unary

    def __repr__(self):
        return f"nl.{self.name}"

    def __call__(self, *args, **kwargs):
        raise NotImplementedError(f"nl.{self.name}(...) as a function is outside the double's subset; it is an op token")


OPS = {}


def _op(name, **kw):
    OPS[name] = Op(name, **kw)


_op("add", alu=np.add, reduces=True)
_op("subtract", alu=lambda a, b: a - b)
_op("multiply", alu=np.multiply, reduces=True)
_op("maximum", alu=np.maximum, reduces=True)
_op("minimum", alu=np.minimum, reduces=True)
_op("equal", alu=lambda a, b: _truth(a == b))
_op("not_equal", alu=lambda a, b: _truth(a != b))
_op("greater", alu=lambda a, b: _truth(a > b))
_op("greater_equal", alu=lambda a, b: _truth(a >= b))
_op("less", alu=lambda a, b: _truth(a < b))
_op("less_equal", alu=lambda a, b: _truth(a <= b))
_op("logical_and", alu=lambda a, b: _truth((a != 0) & (b != 0)), reduces=True)
_op("logical_or", alu=lambda a, b: _truth((a != 0) | (b != 0)), reduces=True)
_op("power", alu=np.power)
_op("abs", alu=lambda a, b: np.abs(a), act=np.abs, unary=True)
_op("rsqrt", alu=lambda a, b: 1.0 / np.sqrt(a), act=lambda x: 1.0 / np.sqrt(x), unary=True)
_op("reciprocal", alu=lambda a, b: 1.0 / a, act=lambda x: 1.0 / x, unary=True)
_op("copy", act=lambda x: x)
_op("exp", act=np.exp)
_op("log", act=np.log)
_op("tanh", act=np.tanh)
_op("sigmoid", act=_sigmoid)
_op("relu", act=_relu)
_op("gelu", act=lambda x: 0.5 * x * _erfc(-x / math.sqrt(2.0)))
_op("gelu_apprx_tanh", act=_gelu_tanh)
_op("silu", act=lambda x: x * _sigmoid(x))
_op("erf", act=_erf)
_op("sqrt", act=np.sqrt)
_op("square", act=lambda x: x * x)
_op("sin", act=_sin)


def alu_op(op, role="op"):
    if not isinstance(op, Op) or op.alu is None:
        raise NkiValidationError(f"{role} {op!r} is not an ALU operator (nki.language arithmetic or bitvec op)")
    return op


def activation_op(op):
    if not isinstance(op, Op) or op.act is None:
        raise NkiValidationError(f"op {op!r} is not an activation function")
    return op
