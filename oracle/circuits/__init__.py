"""Circuits: an ONNX model (whole or as slices) built into EZKL settings, keys and Solidity verifiers, cached by content."""
