"""Built-in guard plugins: size limits, prompt injection, PII, groundedness."""

from llmops_guards.groundedness import GroundednessGuard
from llmops_guards.injection import PromptInjectionGuard
from llmops_guards.pii import PiiGuard
from llmops_guards.size_limit import SizeLimitGuard

__all__ = ["GroundednessGuard", "PiiGuard", "PromptInjectionGuard", "SizeLimitGuard"]
