"""GET /api/cluster: the nodes of the cluster and its queue."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

router = APIRouter()


@router.get("/cluster", operation_id="get_cluster", summary="Nodes of the cluster and its queue")
async def get_cluster(request: Request) -> dict[str, Any]:
    """Every live node (slots, runs in flight, warm containers, engine, last heartbeat) and
    the cluster queue (length, oldest wait). A lone service (RUNNER_CLUSTER unset) lists
    itself; 503 when the cluster's Redis cannot be reached."""
    services = request.app.state.services
    cluster = services.cluster
    if cluster is None:
        gate = services.gate
        return {"node": None, "cluster": False, "nodes": [],
                "queue": {"length": gate.waiting, "oldest_wait_s": None},
                "slots": gate.slots, "running": gate.running}
    return {"cluster": True, **await cluster.status()}
