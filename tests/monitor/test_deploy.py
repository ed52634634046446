"""deploy/: the example configuration loads, the systemd units pass systemd-analyze verify, the
Prometheus rules name metrics the monitor exports."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from maildoctor.monitor.config import load_config
from maildoctor.monitor.service import Metrics
from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"


def test_the_example_configuration_is_valid() -> None:
    config = load_config(DEPLOY / "monitor.toml")
    assert config.interval == 900 and config.domains and config.pools[0].relays[1].ip == "198.51.100.11"


def test_the_systemd_units_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing (Debian's systemd package)"
    binary = str(Path(sys.executable).parent / "maildoctor")
    for unit in ("maildoctor-monitor.service", "maildoctor-serve.service"):
        text = (DEPLOY / unit).read_text().replace("/opt/maildoctor/.venv/bin/maildoctor", binary)  # where this checkout has it
        text = re.sub(r"(?m)^(User|Group)=maildoctor$", r"\1=root", text)  # no maildoctor user on the test machine
        (tmp_path / unit).write_text(text)
        done = subprocess.run([analyze, "verify", str(tmp_path / unit)], capture_output=True, text=True)
        problems = [line for line in done.stderr.splitlines() if unit in line or "maildoctor" in line]
        assert done.returncode == 0 and not problems, done.stderr


def test_the_alerting_rules_use_exported_metrics() -> None:
    rules = yaml.safe_load((DEPLOY / "prometheus-rules.yml").read_text())["groups"][0]["rules"]
    exported = {metric.name for metric in Metrics().registry.collect()}
    for rule in rules:
        names = set(re.findall(r"maildoctor_[a-z_]+", rule["expr"]))
        assert names and names <= exported | {n + "_total" for n in exported}, (rule["alert"], names - exported)
