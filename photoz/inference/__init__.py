"""Fast inference for a trained CNN on CPU or GPU (fast.py: batch norm folded, ONNX Runtime where it
measures faster)."""
