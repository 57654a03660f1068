"""Test files of the decision tests, and the camunda-bpm-examples DMN file when it is present."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.support import REALWORLD_DIR

FILES = Path(__file__).resolve().parent / "files"
DINNER = (
    REALWORLD_DIR
    / "camunda-bpm-examples"
    / "dmn-engine_dmn-engine-drg_src_main_resources_org_camunda_bpm_example_drg_dinnerDecisions.dmn"
)


def read_file(name: str) -> bytes:
    """A test DMN or BPMN file of tests/decisions/files."""
    return (FILES / name).read_bytes()


def dinner_dmn() -> bytes:
    """camunda-bpm-examples' dinnerDecisions.dmn (two tables wired as a DRG), or skip."""
    if not DINNER.exists():
        pytest.skip(f"{DINNER} is absent (the shared real-world corpus is not on this machine)")
    return DINNER.read_bytes()


def table(decision_id: str, hit_policy: str, inputs: str, rules: str, outputs: str = "") -> bytes:
    """A one-decision DMN file: `inputs` and `rules` are XML fragments."""
    outputs = outputs or '<output id="o" label="Result" name="result" typeRef="string" />'
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs" name="Defs"
             namespace="http://bpm-livechat.example/tests">
  <decision id="{decision_id}" name="{decision_id.title()}">
    <decisionTable id="{decision_id}_table" hitPolicy="{hit_policy}">
      {inputs}
      {outputs}
      {rules}
    </decisionTable>
  </decision>
</definitions>
""".encode()
