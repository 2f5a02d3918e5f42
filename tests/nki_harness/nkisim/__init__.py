"""nkisim: the engine of trnc's NKI test double (see ../README.md).

`nki` (NKI 0.6) and `neuronxcc.nki` (legacy) in the folder above are thin
front ends with the documented signatures; this package holds what they
share: tensors and views, dtypes and rounding, the instructions' semantics
and rules, and kernel invocation.
"""
