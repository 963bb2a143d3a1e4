"""uvicorn's HTTP/1.1 protocol (h11) with the two deadlines uvicorn has no option for.

- Headers: a connection must deliver a request's complete headers within `header_timeout`
  seconds of being opened (or of its previous response); else it is closed. uvicorn's
  keep-alive timer stops at the first byte, so a client sending a header line now and then
  (slowloris) would hold its connection for ever. The body has its own deadline, in the API's
  ASGI middleware.
- Writes: when the client leaves the answer unread, the transport stops taking writes; if it
  stays stalled for `write_timeout` seconds the connection is aborted (a plain close would
  wait for the unread bytes to drain, for ever). The app's pending write then returns, the
  response sees the hang-up and its run is stopped.
"""

from __future__ import annotations

import asyncio
import logging

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("tinirun")


class DeadlineProtocol(H11Protocol):
    """H11Protocol with a header deadline and a write-stall deadline (class attributes, set by
    `deadline_protocol`)."""

    header_timeout: float = 30.0
    write_timeout: float = 30.0

    _header_timer: asyncio.TimerHandle | None = None
    _write_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel(header=True, write=True)
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:  # a request's headers are in
            self._cancel(header=True)

    def on_response_complete(self) -> None:
        self._arm_header_deadline()  # for the next request (pipelined ones cancel it at once)
        super().on_response_complete()

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._write_timer is None:
            self._write_timer = self.loop.call_later(self.write_timeout, self._write_stalled)

    def resume_writing(self) -> None:
        self._cancel(write=True)
        super().resume_writing()

    def _arm_header_deadline(self) -> None:
        self._cancel(header=True)
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def _cancel(self, header: bool = False, write: bool = False) -> None:
        if header and self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        if write and self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()

    def _write_stalled(self) -> None:
        self._write_timer = None
        if self.transport.is_closing() and self.transport.get_write_buffer_size() == 0:
            return
        log.warning("client %s left the answer unread for %g s: connection cut",
                    _address(self.client), self.write_timeout)
        self.transport.abort()


def _address(client: tuple[str, int] | None) -> str:
    return f"{client[0]}:{client[1]}" if client else "?"


def deadline_protocol(header_timeout: float, write_timeout: float) -> type[DeadlineProtocol]:
    """The protocol class to give uvicorn (`http=`), with these deadlines."""
    return type("DeadlineProtocol", (DeadlineProtocol,),
                {"header_timeout": header_timeout, "write_timeout": write_timeout})
