"""The prompt registry's test fixture: a registry served on a free port, on the test Redis."""

from __future__ import annotations

import pytest

from llmops_core.testing import serving
from llmops_sdk import PromptRegistryClient
from prompt_registry.main import create_server


@pytest.fixture
async def client(settings):
    """A PromptRegistryClient of a registry served on a free port."""
    async with serving(create_server(settings)) as address, PromptRegistryClient(address) as client:
        yield client
