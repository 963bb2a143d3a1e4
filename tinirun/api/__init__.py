"""The HTTP layer: routes, authentication, stream encoding and the error-to-status map.
It calls the runner and encodes what it yields; it holds no logic of runs."""
