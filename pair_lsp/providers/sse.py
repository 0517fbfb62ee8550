"""Server-sent events from a line iterator: (event name, parsed JSON data) pairs.

Used where the typed SDK stream costs more than it gives: the OpenAI Responses stream repeats
the whole response in several events, and validating every event into the SDK's models costs
about 1.5 ms per call and 34 MB of validators on first use (measured in bench/). The request
still goes through the SDK (auth, base URL, retries with Retry-After, status errors).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any


async def sse_events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """Yield (event, data) per event; a data line that is not JSON raises ValueError."""
    name = ""
    data: list[str] = []
    async for raw in lines:
        line = raw.rstrip("\r")
        if not line:
            if (event := _event(name, data)) is not None:
                yield event
            name, data = "", []
        elif line.startswith(":"):
            continue  # comment / keep-alive
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if (event := _event(name, data)) is not None:  # a stream ending without a blank line
        yield event


def _event(name: str, data: list[str]) -> tuple[str, dict[str, Any]] | None:
    payload = "\n".join(data)
    if not data or payload == "[DONE]":
        return None
    parsed = json.loads(payload)
    if not isinstance(parsed, dict):
        return None
    return name or str(parsed.get("type", "")), parsed
