"""The llmops command line: the local stack, chat, and (soon) every platform operation."""
