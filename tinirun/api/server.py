"""serve: run the app under uvicorn with the configured address and log level."""

from __future__ import annotations

import logging

import uvicorn

from tinirun.api.app import create_app
from tinirun.config import Config

# The contract's levels, mapped to Python's (trace is debug with more detail).
LEVELS = {"trace": logging.DEBUG, "debug": logging.DEBUG, "info": logging.INFO,
          "warn": logging.WARNING, "error": logging.ERROR}


def serve(config: Config) -> None:
    level = LEVELS[config.log_level]
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("tinirun").setLevel(min(level, logging.INFO))
    uvicorn.run(
        create_app(config),
        host=config.host,
        port=config.port,
        log_level="warning" if level > logging.INFO else "info",
        # On SIGTERM: stop accepting, let streams under way end, cancel them at the deadline.
        timeout_graceful_shutdown=config.shutdown_grace,
    )
