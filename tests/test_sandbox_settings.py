"""The sandbox settings: workers, wait for a worker and step budget, from app config or the
environment, with defaults; a bad value is refused naming the variable."""

from __future__ import annotations

import pytest

from bpm_livechat.config import default_script_workers, sandbox_settings
from bpm_livechat.errors import ValidationError


def test_defaults_environment_and_config(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SCRIPT_WORKERS", "SCRIPT_WAIT_SECONDS", "STEP_SECONDS"):
        monkeypatch.delenv(f"BPM_LIVECHAT_{name}", raising=False)
    monkeypatch.delenv("BPM_LIVECHAT_WORKERS", raising=False)
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 6)
    assert sandbox_settings() == sandbox_settings({})
    assert (sandbox_settings().workers, sandbox_settings().wait_seconds) == (6, 0.5)
    assert sandbox_settings().step_seconds == 10.0
    monkeypatch.setenv("BPM_LIVECHAT_SCRIPT_WORKERS", "3")
    monkeypatch.setenv("BPM_LIVECHAT_SCRIPT_WAIT_SECONDS", "0")
    monkeypatch.setenv("BPM_LIVECHAT_STEP_SECONDS", "2.5")
    settings = sandbox_settings()
    assert (settings.workers, settings.wait_seconds, settings.step_seconds) == (3, 0.0, 2.5)
    assert sandbox_settings({"SCRIPT_WORKERS": 1, "STEP_SECONDS": "4"}).workers == 1
    assert sandbox_settings({"STEP_SECONDS": "4"}).step_seconds == 4.0


@pytest.mark.parametrize(
    ("cores", "web_env", "expected"),
    [
        (6, {}, 6),  # one process (CLI, job worker, a single web worker) takes every core
        (6, {"BPM_LIVECHAT_WORKERS": "3"}, 2),
        (6, {"WEB_CONCURRENCY": "2"}, 3),
        (6, {"BPM_LIVECHAT_WORKERS": "4", "WEB_CONCURRENCY": "1"}, 1),  # ours first; 6 // 4
        (2, {"BPM_LIVECHAT_WORKERS": "3"}, 1),  # never none: more web workers than cores
        (None, {}, 1),  # cpu_count() unknown
        (4, {"BPM_LIVECHAT_WORKERS": "0", "WEB_CONCURRENCY": "x"}, 4),  # not a count: ignored
    ],
)
def test_default_workers_share_the_cores_among_the_web_workers(
    monkeypatch: pytest.MonkeyPatch, cores: int | None, web_env: dict[str, str], expected: int
) -> None:
    for name in ("BPM_LIVECHAT_SCRIPT_WORKERS", "BPM_LIVECHAT_WORKERS", "WEB_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in web_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("os.cpu_count", lambda: cores)
    assert default_script_workers() == expected
    assert sandbox_settings().workers == expected
    assert sandbox_settings({"SCRIPT_WORKERS": "5"}).workers == 5  # a set value wins


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "SCRIPT_WORKERS",
            "two",
            "BPM_LIVECHAT_SCRIPT_WORKERS must be a positive number, got 'two'",
        ),
        ("SCRIPT_WORKERS", "0", "BPM_LIVECHAT_SCRIPT_WORKERS must be a positive number, got '0'"),
        (
            "SCRIPT_WAIT_SECONDS",
            "-1",
            "BPM_LIVECHAT_SCRIPT_WAIT_SECONDS must be a positive number, got '-1'",
        ),
        ("STEP_SECONDS", "0", "BPM_LIVECHAT_STEP_SECONDS must be a positive number, got '0'"),
        ("STEP_SECONDS", "nan", "BPM_LIVECHAT_STEP_SECONDS must be a positive number, got 'nan'"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(key: str, value: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        sandbox_settings({key: value})
    assert caught.value.message == message
