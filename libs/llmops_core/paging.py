"""AIP-158 paging: page sizes and opaque page tokens bound to the filters they were issued for."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from llmops_core.errors import InvalidArgumentError

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def page_size(value: int) -> int:
    """0 is the default (50); values above 1000 are capped; negative ones are an error."""
    if value < 0:
        raise InvalidArgumentError(
            f"page_size is {value}; give 0 for the default ({DEFAULT_PAGE_SIZE}) or a positive "
            f"number (at most {MAX_PAGE_SIZE} are returned)",
            reason="INVALID_PAGE_SIZE",
        )
    return min(value or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode_token(position: Any, filters: tuple) -> str:
    """A token for the page after ``position``, valid only with the same ``filters``."""
    data = json.dumps({"p": position, "f": _fingerprint(filters)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def decode_token(token: str, filters: tuple, kind: type) -> Any:
    """The position (of type ``kind``) a token continues after; None for an empty token."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        position, fingerprint = data["p"], data["f"]
        if type(position) is not kind:
            raise TypeError(position)
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise InvalidArgumentError(
            "page_token is not a token this server issued; pass next_page_token from the "
            "previous response unchanged, or leave it empty for the first page",
            reason="INVALID_PAGE_TOKEN",
        ) from None
    if fingerprint != _fingerprint(filters):
        raise InvalidArgumentError(
            "page_token was issued for a request with other filters; repeat the request's "
            "filters with it, or leave it empty to start over",
            reason="INVALID_PAGE_TOKEN",
        )
    return position


def _fingerprint(filters: tuple) -> str:
    canonical = json.dumps(filters, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
