"""The deployment files parse, fit together, and name only settings and metrics the code has.

Docker cannot run here, so the compose file, the image and the Kubernetes manifests are
checked statically: syntax, the structure each tool needs, cross-references between files
(ports, probes, mounts, secrets), and above all that every ``SEATGATE_*`` variable, TOML
key and ``seatgate_*`` metric they use exists in the code, so a rename there fails here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from seatgate.settings import ProductSettings, Settings, load_settings
from tests.helpers import REPO

DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
SYSTEMD = DEPLOY / "systemd"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "seatgate.json"
METRIC_SOURCES = ("proxy_addon", "grant_worker", "seatgate")


def yaml_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yml", ".yaml"))


def load_yaml(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def k8s_objects() -> list[dict[str, Any]]:
    return [doc for path in sorted(K8S.glob("*.yaml")) if path.name != "kustomization.yaml" for doc in load_yaml(path)]


def k8s_object(kind: str, name: str) -> dict[str, Any]:
    found = [o for o in k8s_objects() if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def compose() -> dict[str, Any]:
    return load_yaml(DEPLOY / "docker-compose.yml")[0]


# -- settings names ---------------------------------------------------------------------
def env_setting_problem(name: str) -> str | None:
    """Why SEATGATE_A__B names no setting, or None when it does (pydantic-settings' rules)."""
    parts = name.removeprefix("SEATGATE_").lower().split("__")
    model: type[BaseModel] = Settings
    for depth, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return f"{name}: no setting {'.'.join(parts[: depth + 1])!r}"
        if depth < len(parts) - 1:
            annotation = field.annotation
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                return f"{name}: {'.'.join(parts[: depth + 1])!r} has no nested settings"
            model = annotation
    return None


def unknown_keys(data: dict[str, Any], model: type[BaseModel], prefix: str = "") -> list[str]:
    """Dotted keys of a settings document that the model does not have, at any depth."""
    unknown = []
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None:
            unknown.append(prefix + key)
            continue
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel) and isinstance(value, dict):
            unknown += unknown_keys(value, annotation, f"{prefix}{key}.")
        elif key == "products" and model is Settings:
            for i, product in enumerate(value):
                unknown += unknown_keys(product, ProductSettings, f"{prefix}products[{i}].")
    return unknown


def settings_documents() -> dict[str, str]:
    """Every seatgate settings file in deploy/, by where it comes from."""
    documents = {
        str(p.relative_to(REPO)): p.read_text()
        for p in (DEPLOY / "seatgate.example.toml", DEPLOY / "compose" / "seatgate.toml")
    }
    documents["deploy/k8s/configmap.yaml"] = k8s_object("ConfigMap", "seatgate-config")["data"]["seatgate.toml"]
    return documents


@pytest.mark.parametrize("source", sorted(settings_documents()))
def test_settings_files_use_only_real_settings_and_load(source, tmp_path):
    text = settings_documents()[source]
    assert unknown_keys(tomllib.loads(text), Settings) == []
    # Values too: the file must load as it is (secret files are only read when used).
    path = tmp_path / "seatgate.toml"
    path.write_text(text)
    settings = load_settings(path)
    assert settings.products, f"{source}: no [[products]]"


def test_example_config_documents_every_setting():
    text = (DEPLOY / "seatgate.example.toml").read_text()
    missing = [
        f"{model.__name__}.{name}"
        for model in (
            Settings,
            Settings.model_fields["proxy"].annotation,
            Settings.model_fields["worker"].annotation,
            ProductSettings,
        )
        for name in model.model_fields
        if name not in ("proxy", "worker", "products") and not re.search(rf"^(# )?{name} = ", text, re.MULTILINE)
    ]
    assert missing == [], "add these to deploy/seatgate.example.toml (commented out if they have no good example)"


def test_every_seatgate_environment_variable_is_a_setting():
    files = [p for p in DEPLOY.rglob("*") if p.is_file()] + [REPO / "Dockerfile"]
    used: dict[str, set[str]] = {}
    for path in files:
        for name in re.findall(r"\bSEATGATE_[A-Z0-9_]+", path.read_text(errors="replace")):
            used.setdefault(name, set()).add(str(path.relative_to(REPO)))
    assert "SEATGATE_PROXY__METRICS_LISTEN" in used  # the scan found what it looks for
    problems = [
        f"{problem} (in {', '.join(sorted(used[name]))})"
        for name in sorted(used)
        if (problem := env_setting_problem(name))
    ]
    assert problems == []


# -- metric names -----------------------------------------------------------------------
def defined_metrics() -> set[str]:
    """Every series name the code can expose, with the suffixes prometheus-client adds."""
    pattern = re.compile(r"\b(Counter|Gauge|Histogram|Summary)\(\s*\"(seatgate_[a-z0-9_]+)\"")
    names = set()
    for package in METRIC_SOURCES:
        for path in (REPO / package).rglob("*.py"):
            for kind, name in pattern.findall(path.read_text()):
                base = name.removesuffix("_total")
                names.add(name)
                if kind == "Counter":
                    names |= {base + "_total", base + "_created"}
                if kind in ("Histogram", "Summary"):
                    names |= {name + "_bucket", name + "_count", name + "_sum", name + "_created"}
    return names


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    exprs += [v["definition"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    return exprs


def alert_expressions() -> list[str]:
    alerts = load_yaml(DEPLOY / "prometheus" / "alerts.yml")[0]
    return [rule["expr"] for group in alerts["groups"] for rule in group["rules"]]


def test_dashboard_and_alerts_use_only_metrics_the_code_exposes():
    defined = defined_metrics()
    assert {"seatgate_requests_total", "seatgate_grant_latency_seconds_bucket", "seatgate_seats_used"} <= defined
    for source, exprs in (("dashboard", dashboard_expressions()), ("alerts", alert_expressions())):
        used = {name for expr in exprs for name in re.findall(r"\bseatgate_[a-z0-9_]+", expr)}
        assert used, source
        assert sorted(used - defined) == [], f"{source} uses metrics no code defines"


def test_dashboard_structure():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "seatgate"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "product"} <= variables
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"] and all(t["expr"] for t in panel["targets"]), panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]


# -- YAML and compose -------------------------------------------------------------------
@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_yaml_parses(path):
    assert load_yaml(path), f"{path} is empty"


def _command_words(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return command.split() if isinstance(command, str) else [str(c) for c in command]


def test_compose_services_and_redis_persistence():
    services = compose()["services"]
    assert {"redis", "proxy1", "proxy2", "worker", "nginx", "prometheus", "grafana"} <= set(services)
    words = _command_words(services["redis"])
    assert words[words.index("--appendonly") + 1] == "yes"
    assert services["redis"]["volumes"], "Redis data must live on a volume"
    assert _command_words(services["proxy1"])[0] == "proxy" and _command_words(services["proxy2"])[0] == "proxy"
    assert _command_words(services["worker"])[0] == "worker"


def test_compose_healthchecks_probe_the_listeners_the_services_configure():
    services = compose()["services"]
    listen_of = {"proxy": "SEATGATE_PROXY__METRICS_LISTEN", "worker": "SEATGATE_WORKER__ADMIN_LISTEN"}
    for name, service in services.items():
        role = _command_words(service)[:1]
        if role not in (["proxy"], ["worker"]):
            continue
        port = service["environment"][listen_of[role[0]]].rpartition(":")[2]
        probe = " ".join(service["healthcheck"]["test"])
        assert re.search(rf"127\.0\.0\.1:{port}/(healthz|readyz)\b", probe), f"{name}: {probe}"
    assert "redis-cli" in " ".join(services["redis"]["healthcheck"]["test"])


def test_compose_references_files_that_exist():
    doc = compose()
    services = doc["services"]
    # Created per installation (deploy/README.md): secrets and the TLS certificate.
    per_installation = (DEPLOY / "compose" / "secrets", DEPLOY / "compose" / "tls")
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                path = (DEPLOY / source).resolve()
                assert path.exists() or path in per_installation, f"{name}: {source}"
        for secret in service.get("secrets", []):
            assert secret in doc["secrets"], f"{name}: secret {secret} is not declared"
    # nginx rewrites the example's documented addresses: they must still be in it.
    example = (REPO / "nginx.conf.example").read_text()
    sed = " ".join(_command_words(services["nginx"]))
    for old in re.findall(r"s/([^/]+)/", sed):
        assert old in example, f"nginx.conf.example no longer contains {old!r}"
    # Prometheus scrapes each seatgate service on the port it listens on.
    scrape = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")[0]
    targets = {t for job in scrape["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    assert targets == {"proxy1:9180", "proxy2:9180", "worker:9181"}
    # Grafana loads the dashboard from where the provisioning file says.
    provider = load_yaml(DEPLOY / "grafana" / "provisioning" / "dashboards" / "seatgate.yml")[0]
    dashboards_dir = provider["providers"][0]["options"]["path"]
    assert f"./grafana/dashboards:{dashboards_dir}:ro" in services["grafana"]["volumes"]


# -- Dockerfile -------------------------------------------------------------------------
def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", (REPO / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_dockerfile():
    instructions = dockerfile_instructions()
    known = {"FROM", "WORKDIR", "COPY", "RUN", "USER", "ENV", "EXPOSE", "ENTRYPOINT", "CMD", "ARG", "LABEL"}
    assert {op for op, _ in instructions} <= known
    froms = [arg.split() for op, arg in instructions if op == "FROM"]
    assert froms
    # Every stage starts from the slim Python image or from a stage defined before it.
    stages: set[str] = set()
    for words in froms:
        assert words[0].startswith("python:3.11-slim") or words[0] in stages
        if len(words) == 3 and words[1].upper() == "AS":
            stages.add(words[2])
    # The default (last) stage is the production image: it copies only what `pip install .`
    # built, never the demo build with the simulator and fakeredis.
    last_from = max(i for i, (op, _) in enumerate(instructions) if op == "FROM")
    copied_from = {arg.split()[0] for op, arg in instructions[last_from:] if op == "COPY" and arg.startswith("--from")}
    assert copied_from == {"--from=build"}
    assert any(op == "RUN" and "pip install" in arg and re.search(r"\s\.$", arg) for op, arg in instructions)
    user = [arg for op, arg in instructions if op == "USER"][-1]
    assert user.split(":")[0] not in ("root", "0")
    assert json.loads(next(arg for op, arg in instructions if op == "ENTRYPOINT")) == ["seatgate"]
    # Nothing the build copies may be excluded by .dockerignore.
    ignored = {
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    copied = {
        src for op, arg in instructions if op == "COPY" and not arg.startswith("--from") for src in arg.split()[:-1]
    }
    assert copied and not copied & ignored
    assert all((REPO / src).exists() for src in copied)


# -- Kubernetes -------------------------------------------------------------------------
def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    return deployment["spec"]["template"]["spec"]["containers"][0]


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", [])}


def _port_named(container: dict[str, Any], name: str) -> int:
    return next(p["containerPort"] for p in container["ports"] if p["name"] == name)


def test_k8s_objects():
    kinds = sorted(o["kind"] for o in k8s_objects())
    assert {"ConfigMap", "Secret", "Deployment", "Service", "HorizontalPodAutoscaler"} <= set(kinds)
    for obj in k8s_objects():
        assert obj["apiVersion"] and obj["metadata"]["name"]
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == "seatgate", obj["metadata"]["name"]
    kustomization = load_yaml(K8S / "kustomization.yaml")[0]
    assert sorted(kustomization["resources"]) == sorted(
        p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"
    )


@pytest.mark.parametrize(
    ("name", "role", "listen_env", "port_name", "probe_port_name"),
    [
        ("seatgate-proxy", "proxy", "SEATGATE_PROXY__METRICS_LISTEN", "metrics", "metrics"),
        ("seatgate-worker", "worker", "SEATGATE_WORKER__ADMIN_LISTEN", "admin", "admin"),
    ],
)
def test_k8s_deployment_probes_and_mounts(name, role, listen_env, port_name, probe_port_name):
    deployment = k8s_object("Deployment", name)
    spec = deployment["spec"]
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    container = _container(deployment)
    assert container["args"][0] == role
    env = _env(container)
    # The probes hit the port the process really listens on, on the right paths.
    assert _port_named(container, port_name) == int(env[listen_env].rpartition(":")[2])
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": probe_port_name}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": probe_port_name}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    # Config and secret files named in the environment and the TOML are mounted.
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    config = k8s_object("ConfigMap", volumes["config"]["configMap"]["name"])
    assert mounts["config"]["subPath"] in config["data"]
    assert container["args"][-1] == mounts["config"]["mountPath"]
    secret = k8s_object("Secret", volumes["secrets"]["secret"]["secretName"])
    projected = [i["key"] for i in volumes["secrets"]["secret"].get("items", [])] or list(secret["stringData"])
    assert set(projected) <= set(secret["stringData"])
    secret_dir = mounts["secrets"]["mountPath"]
    wanted = [v for v in env.values() if v.startswith(secret_dir + "/")]
    if role == "worker":  # the worker also reads the directory password named in the TOML
        toml = tomllib.loads(config["data"]["seatgate.toml"])
        wanted += [p["admin_password_file"] for p in toml["products"]]
    assert wanted
    for path in wanted:
        assert path.removeprefix(secret_dir + "/") in projected, f"{name}: {path} is not mounted"


def test_k8s_services_and_autoscaler():
    for service in (o for o in k8s_objects() if o["kind"] == "Service"):
        selected = [
            d
            for d in k8s_objects()
            if d["kind"] == "Deployment"
            and service["spec"]["selector"].items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(selected) == 1, service["metadata"]["name"]
        port_names = {p["name"] for p in _container(selected[0])["ports"]}
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= port_names
    hpa = k8s_object("HorizontalPodAutoscaler", "seatgate-proxy")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "seatgate-proxy"}
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    # Utilisation is relative to the request: without one the HPA cannot scale.
    assert _container(k8s_object("Deployment", "seatgate-proxy"))["resources"]["requests"]["cpu"]


# -- systemd ----------------------------------------------------------------------------
def parse_unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """A unit file as {section: [(key, value), ...]} (keys may repeat, unlike in configparser)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        key, sep, value = line.partition("=")
        assert current is not None and sep and re.fullmatch(r"[A-Za-z]+", key), f"{path.name}:{number}: {raw!r}"
        current.append((key, value))
    return sections


HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "CapabilityBoundingSet": "",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
}


@pytest.mark.parametrize(
    ("unit", "role"), [("seatgate-proxy@.service", "proxy"), ("seatgate-worker.service", "worker")]
)
def test_systemd_units(unit, role):
    sections = parse_unit(SYSTEMD / unit)
    assert {"Unit", "Service", "Install"} <= set(sections)
    service = dict(sections["Service"])
    exec_start = service["ExecStart"].split()
    assert exec_start[1:] == [role, "--config", "/etc/seatgate/seatgate.toml"]
    assert service["User"] != "root"
    assert HARDENING.items() <= service.items()
    environment = [value for key, value in sections["Service"] if key == "Environment"]
    if role == "proxy":
        listens = dict(e.split("=", 1) for e in environment if e.startswith("SEATGATE_"))
        # One instance per port (%i), with its metrics on a port of its own.
        assert listens["SEATGATE_PROXY__LISTEN"].endswith(":%i")
        assert listens["SEATGATE_PROXY__METRICS_LISTEN"] != listens["SEATGATE_PROXY__LISTEN"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify(tmp_path):
    # verify wants the ExecStart binary to exist and a template to be instantiated.
    seatgate = shutil.which("seatgate") or str(REPO / ".venv" / "bin" / "seatgate")
    names = {
        "seatgate-proxy@.service": "seatgate-proxy@8081.service",
        "seatgate-worker.service": "seatgate-worker.service",
    }
    for source, target in names.items():
        text = (SYSTEMD / source).read_text().replace("/opt/seatgate/bin/seatgate", seatgate)
        (tmp_path / target).write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / t) for t in names.values())],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0 and not result.stderr.strip() and not result.stdout.strip(), (
        result.stdout + result.stderr
    )
