"""nginx.conf.example in front of two real proxies, a worker and the simulator, over TLS."""

from __future__ import annotations

import os
import ssl
import urllib.request
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.test_core_loop import login
from tests.helpers import REPO, Process, free_port, wait_for_port
from tests.ops.conftest import nginx_binary

pytestmark = pytest.mark.slow

EXAMPLE = REPO / "nginx.conf.example"


def render(*, proxies: list[int], upstream: int, https: int, http: int, cert: Path, key: Path, tmp: Path) -> str:
    """The example with this test's ports, certificate and writable paths.

    Every value the example documents as "to adapt" must appear exactly once outside
    comments, so that the file cannot drift away from what this test runs.
    """
    temp_paths = "".join(
        f"    {kind}_temp_path {tmp / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    replacements = {
        "127.0.0.1:8081": f"127.0.0.1:{proxies[0]}",
        "127.0.0.1:8082": f"127.0.0.1:{proxies[1]}",
        "127.0.0.1:8090": f"127.0.0.1:{upstream}",
        "listen 443 ssl": f"listen 127.0.0.1:{https} ssl",
        "listen 80;": f"listen 127.0.0.1:{http};",
        "/etc/nginx/tls/seatgate.crt": str(cert),
        "/etc/nginx/tls/seatgate.key": str(key),
        "/var/log/nginx/error.log": str(tmp / "error.log"),
        "/var/log/nginx/access.log": str(tmp / "access.log"),
        # nginx's compiled-in temporary directories are under /var/lib: not ours to write.
        "http {\n": "http {\n" + temp_paths,
    }
    lines = EXAMPLE.read_text().splitlines(keepends=True)
    for old, new in replacements.items():
        hits = [i for i, line in enumerate(lines) if not line.lstrip().startswith("#") and old in line]
        assert len(hits) == 1, f"nginx.conf.example: expected {old!r} once outside comments, found {len(hits)}"
        lines[hits[0]] = lines[hits[0]].replace(old, new)
    return "".join(lines)


def nginx_args(conf: Path, tmp: Path) -> list[str]:
    directives = f"daemon off; pid {tmp / 'nginx.pid'};"
    if os.geteuid() == 0:
        # As root nginx would run its workers as "nobody", who cannot enter pytest's
        # private temporary directory.
        directives += " user root;"
    return [nginx_binary(), "-e", str(tmp / "error.log"), "-p", str(tmp), "-c", str(conf), "-g", directives]


def proxy_request_counts(stack) -> list[float]:
    """seatgate_requests_total of each proxy, summed over its labels."""
    totals = []
    for port in stack.metrics_ports:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
        totals.append(
            sum(
                sample.value
                for family in text_string_to_metric_families(text)
                for sample in family.samples
                if sample.name == "seatgate_requests_total"
            )
        )
    return totals


@pytest.fixture
def nginx_front(stacks, redis_url, tls_cert, tmp_path):
    """Simulator, one worker, two proxies, and nginx rendered from the example in front."""
    stack = stacks(redis_url).start(workers=1, proxies=2)
    front = tmp_path / "nginx"
    front.mkdir()
    https, http = free_port(), free_port()
    conf = front / "nginx.conf"
    conf.write_text(
        render(
            proxies=stack.proxy_ports,
            upstream=stack.sim_port,
            https=https,
            http=http,
            cert=tls_cert[0],
            key=tls_cert[1],
            tmp=front,
        )
    )
    proc = Process(nginx_args(conf, front), front / "nginx.out")
    try:
        try:
            wait_for_port(https, 10, proc.proc)
        except Exception as exc:
            errors = (front / "error.log").read_text() if (front / "error.log").exists() else ""
            raise RuntimeError(f"nginx did not start: {exc}\n{proc.output()}\n{errors}") from exc
        yield stack, f"https://127.0.0.1:{https}", f"http://127.0.0.1:{http}"
    finally:
        proc.stop()


async def test_nginx_example_in_front_of_two_proxies(nginx_front, tls_cert):
    stack, base, plain = nginx_front
    context = ssl.create_default_context(cafile=str(tls_cert[0]))
    client = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=context),
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        timeout=aiohttp.ClientTimeout(total=20),
    )
    async with client:
        # Plain HTTP only redirects to HTTPS.
        async with client.get(f"{plain}/browse/DEMO-1", allow_redirects=False) as response:
            assert response.status == 301
            assert response.headers["Location"].startswith("https://")

        # An unlicensed user logs in at the first try, through nginx and a proxy.
        response = await login(client, base, "alice")
        assert response.headers.get("X-Seraph-LoginReason") == "OK", stack.logs()
        assert response.headers.get("X-AUSERNAME") == "alice"
        async with client.get(f"{base}/secure/Dashboard.jspa") as page:
            assert page.status == 200
            assert page.headers["X-AUSERNAME"] == "alice"
        # REST calls, enough of them that least_conn must use both proxies.
        for _ in range(8):
            async with client.get(f"{base}/rest/api/2/myself") as rest:
                assert rest.status == 200
                assert (await rest.json())["name"] == "alice"

        # Confluence Synchrony's WebSocket: upgraded through nginx, echoed by the upstream.
        async with client.ws_connect(f"{base}/synchrony/v1/bayeux-sync1") as ws:
            await ws.send_str("hello synchrony")
            assert await ws.receive_str(timeout=5) == "hello synchrony"

        # A static asset is served by the upstream without passing any proxy.
        before = proxy_request_counts(stack)
        asset = "/s/abc123/9100/_/download/batch/com.atlassian.auiplugin/aui.js"
        async with client.get(base + asset) as static:
            assert static.status == 200
            assert "javascript" in static.headers["Content-Type"]
        assert proxy_request_counts(stack) == before

    state = stack.sim_state()
    assert [r["status"] for r in state["requests"] if r["path"] == asset] == [200]
    logins = [r for r in state["requests"] if r["path"] == "/login.jsp" and r["method"] == "POST"]
    assert len(logins) == 1 and logins[0]["licensed"] is True
    assert "alice" in state["members"]
    # Both proxies carried part of the traffic.
    assert all(count > 0 for count in before), before
