"""Throughput under load: gunicorn (2 sync workers) on 127.0.0.1, `wrk` with 16 connections.

Both URLs are requested with the session cookie of a real login (GET /login for the CSRF
token, POST /login), and with the same User-Agent as the login, so that Flask-Login's
session protection sees the same browser: `/bench-hello` (bench/loadapp.py: the same app,
middleware and session handling, no page) and the organisation list's first page.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.datasets import DATA_DIR, PROJECT_ROOT, Database
from bench.inprocess import CSRF_RE

USER_AGENT = "crm-bench/1.0"
HOST = "127.0.0.1"


def ensure_wrk() -> str | None:
    """The wrk binary; installed from Debian with apt-get when missing and running as root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        print("  wrk is missing: install it with 'sudo apt-get install -y wrk'")
        return None
    print("  installing wrk (apt-get install -y wrk)")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.STDOUT}
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], env=env, **quiet).returncode:
        subprocess.run(["apt-get", "update", "-q"], env=env, **quiet)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], env=env, **quiet)
    return shutil.which("wrk")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _request(
    port: int, method: str, path: str, cookie: str = "", body: str = ""
) -> tuple[int, dict[str, list[str]], str]:
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    headers = {"User-Agent": USER_AGENT}
    if cookie:
        headers["Cookie"] = f"session={cookie}"
    if body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        received: dict[str, list[str]] = {}
        for name, value in response.getheaders():
            received.setdefault(name.lower(), []).append(value)
        return response.status, received, text
    finally:
        connection.close()


def _session_cookie(headers: dict[str, list[str]], current: str) -> str:
    for raw in headers.get("set-cookie", []):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(raw)
        if "session" in cookie:
            return cookie["session"].value
    return current


def login(port: int, email: str, password: str) -> str:
    """Log in over HTTP as a browser would; returns the session cookie's value."""
    status, headers, page = _request(port, "GET", "/login")
    match = CSRF_RE.search(page)
    if status != 200 or not match:
        raise RuntimeError(f"GET /login answered {status} without a CSRF token")
    cookie = _session_cookie(headers, "")
    form = urlencode({"email": email, "password": password, "csrf_token": match.group(1)})
    status, headers, _text = _request(port, "POST", "/login", cookie, form)
    if status != 302:
        raise RuntimeError(f"POST /login as {email} answered {status}")
    return _session_cookie(headers, cookie)


@contextmanager
def gunicorn(database: Database, workers: int = 2) -> Iterator[int]:
    """gunicorn serving bench.loadapp:app in production mode; yields its port."""
    port = _free_port()
    env = {
        **os.environ,
        "CRM_ENV": "production",
        "CRM_SECRET_KEY": secrets.token_urlsafe(48),
        "CRM_DATABASE_URL": database.url,
        # Production refuses to start without one; the measured pages send no e-mail.
        "CRM_SMTP_URL": os.environ.get("CRM_SMTP_URL") or "smtp://127.0.0.1:25",
    }
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    log_path = DATA_DIR / f"gunicorn-{database.kind}.log"
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--bind",
        f"{HOST}:{port}",
        "--log-level",
        "warning",
        "bench.loadapp:app",
    ]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            _wait_until_up(process, port, log_path)
            yield port
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_up(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn stopped:\n{log_path.read_text()[-3000:]}")
        try:
            if _request(port, "GET", "/login")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 60 s")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"unexpected wrk duration {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> dict[str, Any]:
    """Requests per second, latency percentiles and errors from wrk --latency output."""
    result: dict[str, Any] = {}
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not rps:
        raise RuntimeError(f"no Requests/sec in wrk output:\n{output}")
    result["requests_per_second"] = round(float(rps.group(1)), 1)
    total = re.search(r"(\d+) requests in ([\d.]+\w+)", output)
    if total:
        result["requests"] = int(total.group(1))
    for share in ("50", "90", "99"):
        found = re.search(rf"^\s+{share}%\s+([\d.]+\w+)", output, re.MULTILINE)
        if found:
            result[f"latency_p{share}_ms"] = round(_ms(found.group(1)), 2)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    result["non_2xx_3xx"] = int(non_2xx.group(1)) if non_2xx else 0
    errors = re.search(r"Socket errors: (.*)", output)
    result["socket_errors"] = errors.group(1).strip() if errors else ""
    return result


def run_wrk(
    wrk: str, url: str, cookie: str, seconds: int, connections: int = 16, threads: int = 2
) -> dict[str, Any]:
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "-H",
        f"Cookie: session={cookie}",
        "-H",
        f"User-Agent: {USER_AGENT}",
        url,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return parse_wrk(output)


def _combine(runs: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    """One figure from several wrk rounds: requests over the total time, worst percentiles."""
    requests = sum(r.get("requests", 0) for r in runs)
    combined: dict[str, Any] = {
        "requests_per_second": round(requests / seconds, 1)
        if requests
        else round(sum(r["requests_per_second"] for r in runs) / len(runs), 1),
        "requests": requests,
        "rounds": [r["requests_per_second"] for r in runs],
        "non_2xx_3xx": sum(r["non_2xx_3xx"] for r in runs),
        "socket_errors": "; ".join(r["socket_errors"] for r in runs if r["socket_errors"]),
    }
    for key in ("latency_p50_ms", "latency_p90_ms", "latency_p99_ms"):
        values = [r[key] for r in runs if key in r]
        if values:
            combined[key] = max(values)
    return combined


def measure_load(
    database: Database, login_as: tuple[str, str], seconds: int, wrk: str, rounds: int = 2
) -> dict[str, Any]:
    """Requests per second of /bench-hello and of the organisation list's first page.

    The two URLs are measured in alternating rounds (hello, list, hello, list, ...) of
    `seconds / rounds` each, so that a change in what else the machine runs affects both
    alike; each gets `seconds` in all.
    """
    paths = {"hello": "/bench-hello", "organisation_list": "/organisations/"}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in paths}
    each = max(1, round(seconds / rounds))
    with gunicorn(database) as port:
        cookie = login(port, *login_as)
        for path in paths.values():
            status, _headers, _text = _request(port, "GET", path, cookie)
            if status != 200:
                raise RuntimeError(f"GET {path} with the session cookie answered {status}")
            run_wrk(wrk, f"http://{HOST}:{port}{path}", cookie, seconds=2)  # warm both workers
        for _round in range(rounds):
            for name, path in paths.items():
                runs[name].append(run_wrk(wrk, f"http://{HOST}:{port}{path}", cookie, each))
        for path in paths.values():
            status, _headers, _text = _request(port, "GET", path, cookie)
            if status != 200:
                raise RuntimeError(f"the session stopped working during the run ({status})")
    return {
        name: {"url": paths[name], **_combine(found, each * rounds)} for name, found in runs.items()
    }
