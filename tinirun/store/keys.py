"""Redis key names of the function store, in one place.

Layout (readable with `redis-cli`):

    tinirun:fns          sorted set of function names, every score 0 so it sorts by name
    tinirun:fn:<name>    hash of one function, plain string fields:
                         lang, code, description (absent when None), dependencies (JSON list),
                         status (JSON object), created_at, updated_at, version (integer)
"""

from __future__ import annotations

PREFIX = "tinirun:"
FUNCTION_KEY = PREFIX + "fn:{name}"
FUNCTION_INDEX = PREFIX + "fns"
# Everything the store owns, for SCAN MATCH (tests flush with it).
ALL_KEYS_PATTERN = PREFIX + "*"

# Hash fields of FUNCTION_KEY.
F_LANG = "lang"
F_CODE = "code"
F_DESCRIPTION = "description"
F_DEPENDENCIES = "dependencies"
F_STATUS = "status"
F_CREATED_AT = "created_at"
F_UPDATED_AT = "updated_at"
F_VERSION = "version"


def function_key(name: str) -> str:
    """The hash key of the function called `name`."""
    return FUNCTION_KEY.format(name=name)
