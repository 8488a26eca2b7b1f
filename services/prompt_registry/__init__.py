"""The prompt registry service: versioned prompts and model configs, labels, rendering."""
