"""A client of the tinirun service, synchronous (`Client`) and for asyncio (`AsyncClient`).

    from tinirun_client import Client

    with Client("http://127.0.0.1:8082", api_key="secret") as client:
        print(client.run_code("print(6 * 7)", lang="python").stdout)  # 42

Streaming calls (`*_stream`) return a `ChunkStream` of typed chunks; errors are the tree in
`ClientError`'s module docstring. It speaks HTTP only, with httpx: it imports nothing of the
server and is installed on its own (the `tinirun-client` distribution).
"""

from tinirun_client._async import AsyncChunkStream, AsyncClient
from tinirun_client._chunks import (
    AnyChunk,
    Chunk,
    ChunkEvent,
    DebugChunk,
    ErrorChunk,
    ErrorData,
    ErrorKind,
    InfoChunk,
    OutputFile,
    ResultChunk,
    RunResult,
    StderrChunk,
    StdoutChunk,
)
from tinirun_client._exceptions import (
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
from tinirun_client._functions import (
    FunctionDetail,
    FunctionInfo,
    FunctionListItem,
    FunctionStatus,
)
from tinirun_client._languages import Dependencies, Diagnostic, LanguageInfo
from tinirun_client._sync import ChunkStream, Client
from tinirun_client._version import __version__ as __version__

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
    "Dependencies",
    "Diagnostic",
    "ErrorChunk",
    "ErrorData",
    "ErrorKind",
    "FunctionDetail",
    "FunctionInfo",
    "FunctionListItem",
    "FunctionStatus",
    "InfoChunk",
    "InvalidRequestError",
    "LanguageInfo",
    "NotFoundError",
    "OutputFile",
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
