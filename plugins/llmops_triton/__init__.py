"""Triton plugins: the InferenceBackend (TensorRT-LLM tensor names) and the Embedder."""

from llmops_triton.backend import TritonBackend
from llmops_triton.embedder import TritonEmbedder

__all__ = ["TritonBackend", "TritonEmbedder"]
