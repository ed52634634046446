import dataclasses
import inspect
from dataclasses import dataclass, field

import pytest

from maildoctor.dns.answer import Answer, Outcome
from maildoctor.frozen import quick_init


def _twins() -> tuple[type, type]:
    """The same frozen dataclass twice: once with dataclasses' own __init__, once with quick_init's."""

    def make() -> type:
        @dataclass(frozen=True)
        class Record:
            name: str
            size: int = 3
            tags: tuple[str, ...] = ()
            extra: dict[str, int] = field(default_factory=dict)

        return Record

    return make(), quick_init(make())


def test_an_instance_is_the_one_dataclasses_would_build() -> None:
    plain, quick = _twins()
    for args, kwargs in [(("a",), {}), (("b", 7), {}), (("c",), {"tags": ("x",)}), ((), {"name": "d", "extra": {"k": 1}})]:
        expected, built = plain(*args, **kwargs), quick(*args, **kwargs)
        assert dataclasses.astuple(built) == dataclasses.astuple(expected)
        assert repr(built).split("(", 1)[1] == repr(expected).split("(", 1)[1]
    assert inspect.signature(quick.__init__).parameters.keys() == inspect.signature(plain.__init__).parameters.keys()


def test_it_stays_frozen_comparable_hashable_and_replaceable() -> None:
    _, quick = _twins()
    record = quick("a", tags=("x",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.size = 4
    assert quick("a", tags=("x",)).tags == ("x",)
    assert dataclasses.replace(record, size=9) == quick("a", 9, ("x",))
    assert dataclasses.replace(record, size=9) != record
    answer = Answer("example.com", "A", Outcome.NXDOMAIN)
    assert hash(answer) == hash(Answer(name="example.com", rdtype="A", outcome=Outcome.NXDOMAIN))
    assert {answer, Answer("example.com", "A", Outcome.NXDOMAIN)} == {answer}


def test_a_default_factory_gives_each_instance_its_own_value() -> None:
    _, quick = _twins()
    first, second = quick("a"), quick("b")
    first.extra["k"] = 1
    assert second.extra == {}


def test_post_init_runs_and_missing_arguments_fail_as_usual() -> None:
    @quick_init
    @dataclass(frozen=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError("negative")

    assert Checked(1).value == 1
    with pytest.raises(ValueError, match="negative"):
        Checked(-1)
    with pytest.raises(TypeError):
        Checked()  # type: ignore[call-arg]


def test_it_refuses_classes_it_cannot_build_alike() -> None:
    @dataclass
    class Mutable:
        value: int

    @dataclass(frozen=True, slots=True)
    class Slotted:
        value: int

    @dataclass(frozen=True, kw_only=True)
    class KeywordOnly:
        value: int

    for cls in (Mutable, Slotted, KeywordOnly):
        with pytest.raises(TypeError):
            quick_init(cls)
