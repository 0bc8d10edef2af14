"""The servers under test, each its own process: `parley serve` and the baselines (baseline_app.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from stats import cpu_seconds, free_port, raise_nofile, rss_bytes

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
NOFILE = 1_048_576


def _raise_limits() -> None:  # runs in the child between fork and exec
    raise_nofile(NOFILE)


def parley_env(
    data_dir: Path, port: int, parley_src: Path | None = None, extra: dict[str, str] | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    env |= {
        "PARLEY_DATA_DIR": str(data_dir),
        "PARLEY_SECRET_KEY": "bench-secret",
        "PARLEY_PUBLIC_URL": f"http://127.0.0.1:{port}",
        # The benchmark's webhook receiver listens on loopback, which callbacks may not reach by default.
        "PARLEY_WEBHOOKS__ALLOWED_NETWORKS": '["127.0.0.0/8", "::1/128"]',
    }
    env |= extra or {}  # e.g. PARLEY_DATABASE_URL and PARLEY_REDIS_URL (scale_out.py)
    if parley_src is not None:  # A/B runs: serve another checkout's src/ (it wins over the editable install)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(parley_src), env.get("PYTHONPATH", "")]))
    return env


def parley_cli(
    data_dir: Path,
    *args: str,
    parley_src: Path | None = None,
    timeout: float = 120,
    env: dict[str, str] | None = None,
) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "parley", *args],
        env=parley_env(data_dir, 0, parley_src, env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"parley {' '.join(args)} failed: {result.stderr[-2000:]}")
    return result.stdout


class Server:
    """One server process under test: started, checked, measured and stopped, all bounded in time."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int, log_path: Path) -> None:
        self.name, self.argv, self.env, self.port, self.log_path = name, argv, env, port, log_path
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def parley(
        cls, data_dir: Path, log_dir: Path, parley_src: Path | None = None, env: dict[str, str] | None = None
    ) -> Server:
        port = free_port()
        # `python -m parley serve` is what the `parley` console script runs; -m also lets PYTHONPATH win.
        argv = [sys.executable, "-m", "parley", "serve", "--port", str(port)]
        return cls("parley", argv, parley_env(data_dir, port, parley_src, env), port, log_dir / f"parley-{port}.log")

    @classmethod
    def baseline(cls, kind: str, log_dir: Path) -> Server:
        port = free_port()
        argv = [sys.executable, str(BENCH_DIR / "baseline_app.py"), "--kind", kind, "--port", str(port)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
        return cls(f"baseline-{kind}", argv, env, port, log_dir / f"baseline-{kind}-{port}.log")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = 60) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_raise_limits, cwd=REPO_DIR
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start: {self.log_path.read_text()[-3000:]}")
            if self._healthy():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer /healthz within {timeout} s")

    def _healthy(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
                return s.recv(64).startswith(b"HTTP/1.1 200")
        except OSError:
            return False

    def rss(self) -> int:
        return rss_bytes(self.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def nofile_limit(self) -> int:
        """The server's own RLIMIT_NOFILE (soft): how many sockets it can hold at most."""
        with open(f"/proc/{self.pid}/limits") as f:
            for line in f:
                if line.startswith("Max open files"):
                    return int(line.split()[3])
        raise RuntimeError("no 'Max open files' in /proc/PID/limits")

    def threads(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/task"))

    def quiesce(self, idle_fraction: float = 0.05, window: float = 0.5, timeout: float = 20) -> float:
        """Wait until the server uses under idle_fraction of a core over `window` (a backlog drained)."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            before = self.cpu()
            time.sleep(window)
            if self.cpu() - before < idle_fraction * window:
                break
        return time.monotonic() - t0

    def stop(self, timeout: float = 15) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)  # uvicorn: graceful shutdown (lifespan closes the database)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(5)
