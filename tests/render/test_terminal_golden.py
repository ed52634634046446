"""The terminal renderer's exact text for the example case (the zone audit and the message
report), 100 columns, no colours: a change in wording or layout shows here as a diff. After an
intended change, write the new text with MAILDOCTOR_UPDATE_GOLDEN=1 and read the diff."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import EXAMPLES, ROOT

GOLDEN = ROOT / "tests" / "render" / "golden"
CASES = {
    "zone-afspraakmanager.be.txt": ["zone", str(EXAMPLES / "afspraakmanager.be.zone")],
    "message-afspraakmanager.be.txt": [
        "message",
        str(EXAMPLES / "afspraakmanager.be-gmail-headers.txt"),
        "--zone",
        str(EXAMPLES / "afspraakmanager.be.zone"),
    ],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_terminal_text_of_the_example_case(name: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "CLICOLOR_FORCE")} | {"COLUMNS": "100", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "maildoctor", *CASES[name]], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    assert done.returncode == 1, done.stderr  # both have errors to fix
    if os.environ.get("MAILDOCTOR_UPDATE_GOLDEN"):
        (GOLDEN / name).write_text(done.stdout)
    assert done.stdout == (GOLDEN / name).read_text()
