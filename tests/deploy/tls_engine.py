"""A Docker engine behind TLS with client certificates, for the deploy tests: a relay from
port 2376 to the engine socket, standing in for a remote `dockerd --tlsverify`.

Run inside a container: python3 tls_engine.py CERT_DIR (ca.pem, cert.pem, key.pem there).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import sys

SOCKET = "/var/run/docker.sock"
PORT = 2376


async def pipe(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, ssl.SSLError):
        while data := await source.read(65536):
            target.write(data)
            await target.drain()
        if target.can_write_eof():
            target.write_eof()


async def relay(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
    try:
        engine_reader, engine_writer = await asyncio.open_unix_connection(SOCKET)
    except OSError:
        client_writer.close()
        return
    upstream = asyncio.create_task(pipe(client_reader, engine_writer))
    # The engine's side ending ends the connection: TLS cannot be half-closed towards the client.
    await pipe(engine_reader, client_writer)
    client_writer.close()
    engine_writer.close()
    upstream.cancel()


async def main(cert_dir: str) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(f"{cert_dir}/cert.pem", f"{cert_dir}/key.pem")
    context.load_verify_locations(f"{cert_dir}/ca.pem")
    context.verify_mode = ssl.CERT_REQUIRED
    server = await asyncio.start_server(relay, "0.0.0.0", PORT, ssl=context)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
