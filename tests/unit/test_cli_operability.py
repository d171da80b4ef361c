"""The CLI as a person uses it: help everywhere (naming the environment), one-line errors, no
secrets needed to read, the API key from a prompt or stdin, replay's arguments and sums."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from streams import cli
from streams.commands.common import read_secret
from streams.replay import PartitionPlan

CLI = Path(sys.executable).parent / "vitally-sync"
COMMANDS = ["connect", "disconnect", "tenants", "status", "rotate-secrets", "replay"]


def _bare_env(**extra: str) -> dict[str, str]:
    """No settings at all: what a person has before configuring anything."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return {**keep, **extra}


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_naming_its_environment(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main([command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "KAFKA_BOOTSTRAP_SERVERS" in out and "KAFKA_SECURITY_PROTOCOL" in out
    assert ("SECRETS_KEY" in out) == (command in ("connect", "rotate-secrets"))
    assert "ADMIN_API_TOKEN" not in out  # only the worker serves the HTTP API


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for command in [*COMMANDS, "worker"]:
        assert command in out


def test_worker_help_needs_no_settings_and_no_kafka() -> None:
    result = subprocess.run(  # noqa: S603 - our own console script
        [str(CLI), "worker", "--help"], env=_bare_env(KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1"),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "SECRETS_KEY" in result.stdout and "DATA_DIR" in result.stdout
    assert "--web-port" in result.stdout and "--loglevel" in result.stdout  # Faust's own


def test_a_missing_setting_is_one_line_and_exit_2() -> None:
    result = subprocess.run(  # noqa: S603 - our own console script
        [str(CLI), "connect", "--tenant", "T", "--subdomain", "acme", "--api-key", "k",
         "--default-admin-email", "ops@vendor.example"],
        env=_bare_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr == ("vitally-sync: configuration error: SECRETS_KEY: required, not set\n")


def test_the_worker_without_settings_is_one_line_too() -> None:
    result = subprocess.run(  # noqa: S603 - our own console script
        [str(CLI), "worker", "-l", "info"], env=_bare_env(), capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "ADMIN_API_TOKEN: required" in result.stderr and "SECRETS_KEY" in result.stderr


def test_a_bad_secrets_key_is_named_without_its_value() -> None:
    result = subprocess.run(  # noqa: S603 - our own console script
        [str(CLI), "rotate-secrets"],
        env=_bare_env(SECRETS_KEY="not-a-fernet-key", KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1"),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "SECRETS_KEY must be Fernet keys" in result.stderr
    assert "not-a-fernet-key" not in result.stderr and "Traceback" not in result.stderr


def test_an_unreachable_broker_is_one_line_and_exit_1() -> None:
    result = subprocess.run(  # noqa: S603 - our own console script
        [str(CLI), "tenants"], env=_bare_env(KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1"),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("vitally-sync: Kafka error: ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_sasl_without_credentials_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.delenv("KAFKA_SASL_USERNAME", raising=False)
    assert cli.main(["tenants"]) == 2
    err = capsys.readouterr().err
    assert "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD" in err


def test_api_key_dash_prompts_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    prompts: list[str] = []

    def getpass(prompt: str) -> str:
        prompts.append(prompt)
        return "typed-secret"

    monkeypatch.setattr(sys, "stdin", _Tty(""))
    monkeypatch.setattr("getpass.getpass", getpass)
    assert read_secret("-", "Vitally API key: ") == "typed-secret"
    assert prompts == ["Vitally API key: "]


def test_api_key_dash_reads_stdin_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("piped-secret\n"))
    assert read_secret("-", "unused") == "piped-secret"
    assert read_secret("given", "unused") == "given"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["replay"], "one of the arguments --to-datetime --to-offset --to-earliest is required"),
        (["replay", "--to-earliest", "--to-offset", "3"], "not allowed with argument"),
        (["replay", "--to-datetime", "yesterday"], "not an ISO 8601 date-time"),
        (["replay", "--to-earliest", "--partitions", "a,b"], "partition numbers"),
    ],
)
def test_replay_arguments_are_checked(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(args)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("committed", "target", "reread"),
    [(40, 2, 38), (None, 2, 0), (None, 10, -8), (40, 50, -10), (120, 90, 10)],
)
def test_replay_counts_what_is_read_again(committed: int | None, target: int, reread: int) -> None:
    # low 2, high 100: no commit means the worker starts at the log start; a commit past
    # the end reads nothing there.
    plan = PartitionPlan("in", 0, committed, low=2, high=100, target=target)
    assert plan.reread == reread


def test_faust_commands_pass_through_and_their_help_needs_no_settings() -> None:
    result = subprocess.run(  # noqa: S603 - our own console script
        [str(CLI), "faust", "--help"], env=_bare_env(), capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Usage: vitally-sync faust" in result.stdout
    assert "agents" in result.stdout and "tables" in result.stdout
