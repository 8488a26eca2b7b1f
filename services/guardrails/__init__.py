"""The guardrails service: input and output checks run in parallel under a policy."""
