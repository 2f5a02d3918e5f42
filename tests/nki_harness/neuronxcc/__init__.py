"""Test double of the `neuronxcc` package: only `neuronxcc.nki` (see ../README.md)."""
