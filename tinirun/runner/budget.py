"""The output budget of one run: how many bytes of stdout and stderr it may stream.

Past the budget, output is still read from the container (so the program is not blocked and
ends with its own exit code) but dropped: a flood costs neither the client nor the service's
memory, and the result says which stream was truncated.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class StreamBudget:
    """Bytes a run may still stream; `admit` hands out what is left."""

    limit: int
    used: int = 0
    announced: bool = False

    def admit(self, data: bytes) -> bytes:
        """The part of `data` that fits in the budget (all of it, a head, or nothing)."""
        room = self.limit - self.used
        if room <= 0:
            return b""
        part = data[:room]
        self.used += len(part)
        return part

    def announce(self) -> str | None:
        """The notice for the client, the first time the budget runs out; then None."""
        if self.announced:
            return None
        self.announced = True
        return f"Output past {self.limit} bytes is not streamed; the program goes on"
