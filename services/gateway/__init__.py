"""The gateway: one Chat API composing registry, guardrails, retrieval, inference and monitoring."""
