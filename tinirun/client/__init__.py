"""The Python client, as `tinirun.client` for code written before it became a distribution of
its own: every name of `tinirun_client` (installed with the service), the same objects."""

import tinirun_client
from tinirun_client import *  # noqa: F403  (the re-export is the point of this module)

__all__ = tinirun_client.__all__
