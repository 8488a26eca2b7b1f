"""Python clients for every llmops service."""

from llmops_sdk._client import ServiceClient
from llmops_sdk._health import check_health
from llmops_sdk._paging import all_pages
from llmops_sdk._prompt_cache import PromptCache
from llmops_sdk._services import (
    GatewayClient,
    GuardrailsClient,
    InferenceClient,
    MonitoringClient,
    PromptRegistryClient,
    RetrievalClient,
)

__all__ = [
    "GatewayClient",
    "GuardrailsClient",
    "InferenceClient",
    "MonitoringClient",
    "PromptCache",
    "PromptRegistryClient",
    "RetrievalClient",
    "ServiceClient",
    "all_pages",
    "check_health",
]
