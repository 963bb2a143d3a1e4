"""A client of the tinirun service, synchronous (`Client`) and for asyncio (`AsyncClient`).

    from tinirun.client import Client

    with Client("http://127.0.0.1:8082", api_key="secret") as client:
        print(client.run_code("print(6 * 7)", lang="python").stdout)  # 42

Streaming calls (`*_stream`) return a `ChunkStream` of typed chunks; errors are the tree in
`ClientError`'s module docstring. It speaks HTTP only: it imports nothing of the server.
"""

from tinirun.client._async import AsyncChunkStream, AsyncClient
from tinirun.client._exceptions import (
    AuthenticationError,
    BusyError,
    ClientError,
    InvalidRequestError,
    NotFoundError,
    ProtocolError,
    RunError,
    ServerError,
    StatusError,
    TransportError,
)
from tinirun.client._models import (
    AnyChunk,
    Chunk,
    ChunkEvent,
    DebugChunk,
    ErrorChunk,
    ErrorData,
    ErrorKind,
    FunctionDetail,
    FunctionInfo,
    FunctionListItem,
    InfoChunk,
    ResultChunk,
    RunResult,
    StderrChunk,
    StdoutChunk,
)
from tinirun.client._sync import ChunkStream, Client

__all__ = [
    "AnyChunk",
    "AsyncChunkStream",
    "AsyncClient",
    "AuthenticationError",
    "BusyError",
    "Chunk",
    "ChunkEvent",
    "ChunkStream",
    "Client",
    "ClientError",
    "DebugChunk",
    "ErrorChunk",
    "ErrorData",
    "ErrorKind",
    "FunctionDetail",
    "FunctionInfo",
    "FunctionListItem",
    "InfoChunk",
    "InvalidRequestError",
    "NotFoundError",
    "ProtocolError",
    "ResultChunk",
    "RunError",
    "RunResult",
    "ServerError",
    "StatusError",
    "StderrChunk",
    "StdoutChunk",
    "TransportError",
]
