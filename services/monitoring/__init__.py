"""The monitoring service: traces, metrics and (later) the feedback loop."""
