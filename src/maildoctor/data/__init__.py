"""The data files the package ships (catalogs, provider lists, rules), each read once."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def load_json(name: str) -> dict[str, Any]:
    """A JSON data file of this package, parsed (the same object every time: do not change it)."""
    data: dict[str, Any] = json.loads(resources.files(__name__).joinpath(name).read_text("utf-8"))
    return data
