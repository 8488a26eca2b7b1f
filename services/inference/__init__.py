"""The inference service: generation and embeddings through an InferenceBackend plugin."""
