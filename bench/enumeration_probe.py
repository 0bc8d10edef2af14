"""The adversarial probe's enumeration and SMS-pumping runs (issue 11, findings 7 and 8) against `parley serve`.

    .venv/bin/python bench/enumeration_probe.py                 # production limits (development codes off)
    .venv/bin/python bench/enumeration_probe.py --dev           # development codes on: the generous limits

A fresh SQLite data dir, one account (`parley user create`), then `parley serve` on loopback. One client asks
`GET /client/v1/users/lookup` for 600 numbers as fast as it can (every tenth is the account's own: a hit),
then `POST /client/v1/auth/request-code` for 200 different numbers. Printed: how many lookups answered with
an id and name before the server said 429, how many code requests reached the code sender (200, or 503 when
no SMS provider is set: the request passed every limit) before 429, and the elapsed time of each run.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dev", action="store_true", help="development codes on (PARLEY_DEV_SHOW_CODES)")
    parser.add_argument("--lookups", type=int, default=600)
    parser.add_argument("--codes", type=int, default=200)
    args = parser.parse_args()
    src = Path(__file__).resolve().parent.parent / "src"
    with tempfile.TemporaryDirectory() as data_dir:
        env = {
            **os.environ,
            "PYTHONPATH": str(src),
            "PARLEY_DATA_DIR": data_dir,
            "PARLEY_DEV_SHOW_CODES": "true" if args.dev else "false",
            "PARLEY_LOG_LEVEL": "warning",
        }
        parley = [sys.executable, "-m", "parley"]
        subprocess.run([*parley, "db", "upgrade"], env=env, check=True, capture_output=True)
        created = subprocess.run(
            [*parley, "user", "create", "--phone", "+14155550101", "--name", "Known", "--json"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        token = json.loads(created.stdout)["token"]
        port = free_port()
        server = subprocess.Popen(
            [*parley, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
                for _ in range(300):
                    try:
                        if http.get("/healthz").status_code == 200:
                            break
                    except httpx.TransportError:
                        time.sleep(0.1)
                headers = {"Authorization": f"Bearer {token}"}
                started = time.perf_counter()
                lookups: Counter[int] = Counter()
                for i in range(args.lookups):
                    phone = "+14155550101" if i % 10 == 0 else f"+1415556{i:04d}"
                    lookups[
                        http.get("/client/v1/users/lookup", params={"phone": phone}, headers=headers).status_code
                    ] += 1
                lookup_s = time.perf_counter() - started
                started = time.perf_counter()
                codes: Counter[int] = Counter()
                for i in range(args.codes):
                    answer = http.post("/client/v1/auth/request-code", json={"phone": f"+1415557{i:04d}"})
                    codes[answer.status_code] += 1
                code_s = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=10)
    mode = "development" if args.dev else "production"
    print(f"{mode} limits")
    found = dict(sorted(lookups.items()))
    print(f"  {args.lookups} lookups in {lookup_s:.2f} s: {found}  (200 found, 404 not, 429 refused)")
    print(f"  {args.codes} code requests in {code_s:.2f} s: {dict(sorted(codes.items()))}  (200/503 passed the limits)")


if __name__ == "__main__":
    main()
