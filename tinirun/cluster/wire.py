"""What travels between nodes through Redis: a queued run (the request as the client sent it,
so the taking node checks and prepares it as if it were its own) and the chunks of its stream."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from tinirun.models import Chunk, ChunkEvent, ErrorData, RunResult


@dataclass(frozen=True)
class Job:
    """One run that may go to another node. `kind` code: `body` is the RunRequest; kind
    function: `body` is the FunctionRunRequest plus the function's name, lang, version, tag."""

    kind: Literal["code", "function"]
    body: dict[str, Any]
    front: str  # the node the client is connected to
    run: str = field(default_factory=lambda: uuid.uuid4().hex)

    def encode(self) -> str:
        return json.dumps({"kind": self.kind, "body": self.body, "front": self.front,
                           "run": self.run}, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> Job:
        data = json.loads(text)
        return cls(kind=data["kind"], body=data["body"], front=data["front"], run=data["run"])


def encode_chunk(chunk: Chunk) -> str:
    return json.dumps(chunk.to_json(), ensure_ascii=False, separators=(",", ":"))


def decode_chunk(text: str) -> Chunk:
    data = json.loads(text)
    event = ChunkEvent(data["event"])
    if event == ChunkEvent.RESULT:
        return Chunk.result(RunResult.model_validate(data["data"]))
    if event == ChunkEvent.ERROR:
        return Chunk.error(ErrorData.model_validate(data["data"]))
    return Chunk(event=event, data=str(data["data"]))


Entry = tuple[str, dict[str, str] | None]


def entries_of(answer: Any) -> list[Entry]:
    """The (id, fields) of an XREAD/XREADGROUP answer or of an XRANGE/XCLAIM list; fields is
    None for an entry deleted while pending."""
    if answer and isinstance(answer[0], list | tuple) and len(answer[0]) == 2 and \
            isinstance(answer[0][1], list):
        flat: list[Any] = [e for _, entries in answer for e in entries]  # XREAD: per stream
    else:
        flat = list(answer or [])
    return [(str(entry_id), {str(k): str(v) for k, v in fields.items()} if fields else None)
            for entry_id, fields in flat]
