"""Frozen dataclasses that are cheap to build.

The `__init__` that `dataclasses` writes for a frozen class sets each field with its own call to
`object.__setattr__`; an audit builds some two hundred such objects a domain (an answer and its
trace per DNS question, a run per check, an area per area), and those calls were a measurable
part of its CPU time. `quick_init` gives the class an `__init__` that fills the instance's
`__dict__` in one step instead: the same signature, defaults, default factories, `__post_init__`
and immutability (assignment still raises FrozenInstanceError), the same equality, hash, repr
and `dataclasses.replace`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def quick_init(cls: type[T]) -> type[T]:
    """Replace a frozen dataclass's generated `__init__` (apply above `@dataclass(frozen=True)`)."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen:
        raise TypeError(f"{cls.__name__} is not a frozen dataclass")
    if hasattr(cls, "__slots__"):
        raise TypeError(f"{cls.__name__}: quick_init fills __dict__, not slots")
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    namespace: dict[str, Any] = {"_set": object.__setattr__, "_MISSING": dataclasses.MISSING}
    arguments, made = [], []
    for field in fields:
        if not field.init or field.kw_only:
            raise TypeError(f"{cls.__name__}.{field.name}: quick_init takes plain positional fields only")
        if field.default_factory is not dataclasses.MISSING:  # a fresh value per instance, as dataclasses make it
            namespace[f"_factory_{field.name}"] = field.default_factory
            arguments.append(f"{field.name}=_MISSING")
            made.append(f"    if {field.name} is _MISSING:\n        {field.name} = _factory_{field.name}()\n")
        elif field.default is dataclasses.MISSING:
            arguments.append(field.name)
        else:
            namespace[f"_default_{field.name}"] = field.default
            arguments.append(f"{field.name}=_default_{field.name}")
    values = ", ".join(f"{field.name!r}: {field.name}" for field in fields)
    post_init = "    self.__post_init__()\n" if hasattr(cls, "__post_init__") else ""
    source = f"def __init__(self, {', '.join(arguments)}):\n{''.join(made)}    _set(self, '__dict__', {{{values}}})\n{post_init}"
    exec(source, namespace)  # noqa: S102  (what dataclasses itself does to write an __init__)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    setattr(cls, "__init__", init)  # noqa: B010  (mypy forbids assigning a method)
    return cls
