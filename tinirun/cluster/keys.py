"""Redis key names of the cluster, in one place (readable with `redis-cli`).

    tinirun:cluster:runs          stream of queued runs; consumer group `nodes`, one consumer
                                  per node (its name). An entry is acknowledged and deleted
                                  when its program starts, so what is left is waiting or taken
    tinirun:cluster:node:<name>   hash of a node's heartbeat, expiring after the node TTL
    tinirun:cluster:out:<run>     stream of one run's chunks, written by the node running it
                                  and read by the node the client is connected to
    tinirun:cluster:cancel:<run>  set when the client of a run has gone
    tinirun:cluster:lock:<tag>    held by the one node building an image for the others
"""

from __future__ import annotations

PREFIX = "tinirun:cluster:"
QUEUE = PREFIX + "runs"
GROUP = "nodes"
NODE_PATTERN = PREFIX + "node:*"

# Fields of a queue entry and of an output stream entry.
F_JOB = "job"
F_TAKEN = "taken"
F_CHUNK = "chunk"


def node(name: str) -> str:
    return f"{PREFIX}node:{name}"


def output(run: str) -> str:
    return f"{PREFIX}out:{run}"


def cancel(run: str) -> str:
    return f"{PREFIX}cancel:{run}"


def lock(tag: str) -> str:
    return f"{PREFIX}lock:{tag}"
