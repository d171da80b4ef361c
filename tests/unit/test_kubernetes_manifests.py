"""deploy/kubernetes/ is valid for Kubernetes (its published schemas, offline, strict: no
unknown field) and says what the service reads: the probes it serves, the variables it
takes, the user the image runs as, WORKER_ID from the pod's name."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from devtools.processes import procfile_command

from streams.settings import Settings
from streams.web.guard import OPEN_PATHS

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml"))
# The oldest minor still commonly run, and the newest the validator knows.
VERSIONS = ("1.30", kubernetes_validate.latest_version())


def _documents() -> list[tuple[str, dict[str, Any]]]:
    return [
        (path.name, document)
        for path in MANIFESTS
        for document in yaml.safe_load_all(path.read_text())
        if document
    ]


def _worker() -> dict[str, Any]:
    [spec] = [d["spec"] for _, d in _documents() if d["kind"] == "StatefulSet"]
    pod: dict[str, Any] = spec["template"]["spec"]
    return pod


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_is_valid_kubernetes(version: str) -> None:
    documents = _documents()
    assert {d["kind"] for _, d in documents} >= {"StatefulSet", "Service", "Secret"}
    for _, document in documents:
        kubernetes_validate.validate(document, version, strict=True)


def test_the_validator_refuses_a_broken_manifest() -> None:
    broken = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "x"},
              "spec": {"replicas": "three"}}  # fmt: skip
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[-1], strict=True)


def test_the_pod_runs_the_procfiles_command() -> None:
    assert _worker()["containers"][0]["args"] == procfile_command("web")


def test_worker_id_is_the_pods_name() -> None:
    env = {e["name"]: e for e in _worker()["containers"][0]["env"]}
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["WORKER_ID"]["value"] == "$(POD_NAME)"


def test_every_variable_is_one_the_service_reads_and_secrets_come_from_a_secret() -> None:
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(name.upper())
        names |= {str(a).upper() for a in getattr(field.validation_alias, "choices", [])}
    env = _worker()["containers"][0]["env"]
    assert {e["name"] for e in env} - {"POD_NAME"} <= names
    for secret in ("ADMIN_API_TOKEN", "SECRETS_KEY", "KAFKA_SASL_PASSWORD"):
        [entry] = [e for e in env if e["name"] == secret]
        assert "secretKeyRef" in entry["valueFrom"], secret


def test_probes_resources_and_user_match_the_service_and_the_image() -> None:
    pod = _worker()
    [container] = pod["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert {"/live", "/ready"} <= OPEN_PATHS  # probes need no token
    assert container["ports"][0]["containerPort"] == Settings.model_fields["web_port"].default
    assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]
    user = re.search(r"^USER (\d+):(\d+)$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert user, "the image's USER is numeric"
    assert pod["securityContext"]["runAsUser"] == int(user.group(1))
    assert pod["securityContext"]["runAsNonRoot"] is True
    # A stop ends its calls in flight and commits: HTTP_TIMEOUT_SECONDS + 10 s at most.
    grace = Settings.model_fields["http_timeout_seconds"].default + 10
    assert pod["terminationGracePeriodSeconds"] >= grace
