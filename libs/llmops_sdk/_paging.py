"""Reading every page of an AIP-158 List RPC."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any


async def all_pages(call: Callable[[Any], Awaitable[Any]], request: Any, field: str) -> list:
    """Call a List RPC until ``next_page_token`` is empty; return the items of ``field``."""
    items: list = []
    while True:
        response = await call(request)
        items.extend(getattr(response, field))
        if not response.next_page_token:
            return items
        request.page_token = response.next_page_token
