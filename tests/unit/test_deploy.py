"""The deployment files say what the README promises: the image installs with the wheel test's
own steps, Kubernetes rolls replicas without losing requests, the job shares image and mappings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from connector.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy/kubernetes"


def manifest(name: str) -> Any:
    return yaml.safe_load((K8S / name).read_text(encoding="utf-8"))


def test_kustomization_lists_every_manifest():
    listed = set(manifest("kustomization.yaml")["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}


def test_the_mappings_configmap_holds_the_top_level_mappings_verbatim():
    data = manifest("mappings-configmap.yaml")["data"]
    files = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "mappings").glob("*.yaml")}
    assert data == files


def test_rolling_update_keeps_every_request():
    deployment = manifest("deployment.yaml")
    config = manifest("config.yaml")["data"]
    spec, pod = deployment["spec"], deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert spec["replicas"] >= 2 and spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    pause = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
    graceful = int(config["CONNECTOR_GRACEFUL_TIMEOUT"])
    assert pod["terminationGracePeriodSeconds"] > pause + graceful
    assert Settings().graceful_timeout == graceful
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsNonRoot"] is True


def test_the_expiry_job_runs_on_the_same_image_settings_and_mappings():
    serve = manifest("deployment.yaml")["spec"]["template"]["spec"]
    job = manifest("cronjob.yaml")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert job["containers"][0]["image"] == serve["containers"][0]["image"]
    assert job["containers"][0]["envFrom"] == serve["containers"][0]["envFrom"]
    assert job["volumes"][0] == serve["volumes"][0]
    assert job["containers"][0]["args"][0] == "expire"


def test_the_image_installs_with_the_steps_the_wheel_test_runs():
    dockerfile = (ROOT / "deploy/Dockerfile").read_text(encoding="utf-8")
    assert "deploy/build-wheel.sh /dist && deploy/install.sh /opt/connector /dist" in dockerfile
    assert "USER 10001" in dockerfile and "HEALTHCHECK" in dockerfile
    assert 'CMD ["serve"]' in dockerfile
    test = (ROOT / "tests/integration/test_wheel.py").read_text(encoding="utf-8")
    assert "deploy/build-wheel.sh" in test and "deploy/install.sh" in test
