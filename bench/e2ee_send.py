"""Encrypted person-to-person sends (issue 16) beside plaintext sends through the same `parley serve`, in one run,
with the raw ASGI app as the floor; and the client's crypto measured apart.

    .venv/bin/python bench/e2ee_send.py            # ~2 minutes on 2 cores
    .venv/bin/python bench/e2ee_send.py --quick    # smoke run

Setup: --pairs people pairs made in-process on a fresh SQLite data dir; then, against the running server through
`parley.client` over HTTP, every device publishes its keys, each sender shares its Megolm room key with its peer
(one Olm session each), and --per-pair messages per pair are encrypted before anything is timed. Then wrk (a
separate process, --connections, --duration) alternates plaintext text sends and the pre-encrypted sends (both
bench/send.lua) --rounds times each, reading the server's CPU seconds around every run, so the ratio of server CPU
per send (goal: encrypted within 1.2x of plaintext) comes from one process in one run; the raw ASGI app answers the
same two loads as the floor. Last, the client's crypto in-process: Megolm encrypt / decrypt per message, and a room
key share per recipient device (an Olm session from its one-time key + the encrypted m.room_key).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from options import parse_with_quick
from servers import BENCH_DIR, Server, parley_cli
from stats import loadavg, run_async

TEXT = "See you at the station at 6, I'll bring the tickets and something to eat"  # a typical short message


async def seed(data_dir: Path, pairs: int) -> list[tuple[str, str, str, str]]:
    """(token, user id, device id, phone) of 2 * pairs people, through the operator path."""
    from parley.config import Settings
    from parley.container import build_container

    container = build_container(Settings(data_dir=data_dir, secret_key="bench-secret"))
    await container.start()
    try:
        people = []
        for i in range(2 * pairs):
            phone = f"+1415{3_000_000 + i:07d}"
            session = await container.accounts.create_user_with_token(phone, f"Person {i}", device_name="bench")
            people.append((session.token, str(session.user_id), str(session.device_id), phone))
        return people
    finally:
        await container.close()


async def prepare(port: int, people: list[tuple[str, str, str, str]], per_pair: int, workdir: Path) -> dict[str, Any]:
    """Keys published, room keys shared, payloads encrypted; the files wrk reads. Checks one encrypted send."""
    from parley.client import E2EEDevice, ParleyClient, direct_room_id

    base = f"http://127.0.0.1:{port}"
    devices = []
    for token, user_id, device_id, _phone in people:
        device = E2EEDevice(ParleyClient(base, token=token, user_id=user_id, device_id=device_id))
        await device.publish()
        devices.append(device)
    plain_lines, enc_lines = [], []
    t0 = time.perf_counter()
    for k in range(0, len(people), 2):
        sender = devices[k]
        room = direct_room_id(people[k][1], people[k + 1][1])
        await sender.share_room_key(room, [people[k][1], people[k + 1][1]])
        plain_lines.append(f"{people[k][0]} {people[k + 1][3]}")
        for _ in range(per_pair):
            encrypted = sender.megolm_encrypt(room, {"msgtype": "m.text", "body": TEXT})
            enc_lines.append(f"{people[k][0]} {people[k + 1][3]} {json.dumps(encrypted, separators=(',', ':'))}")
    share_s = time.perf_counter() - t0
    # One real round trip: the recipient reads what the benchmark sends.
    first, second = devices[0], devices[1]
    await first.send_text(TEXT, to=people[1][3])
    chat = next(c["id"] for c in await second.api.chats())
    read = await second.read_chat(chat, limit=1)
    assert read[-1].body == TEXT, read[-1]
    for device in devices:
        await device.api.aclose()
    (workdir / "plain.txt").write_text("\n".join(plain_lines) + "\n")
    (workdir / "encrypted.txt").write_text("\n".join(enc_lines) + "\n")
    return {"room_key_shares_through_server_s": round(share_s, 2), "payloads": len(enc_lines)}


def run_wrk(port: int, script: str, data_file: Path, path: str, connections: int, seconds: float) -> dict[str, Any]:
    options = f"-t2 -c{connections} -d{int(seconds)}s --timeout 10s --latency".split()
    target = f"http://127.0.0.1:{port}{path}"
    argv = ["wrk", *options, "-s", str(BENCH_DIR / script), target, "--", str(data_file), uuid.uuid4().hex[:8]]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60).stdout
    line = next((x for x in out.splitlines() if x.startswith("BENCHJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    data: dict[str, Any] = json.loads(line[len("BENCHJSON ") :])
    data["ok"] = data["requests"] - data["errors"]["status"]
    data["ok_per_second"] = round(data["ok"] / (data["duration_us"] / 1e6), 1)
    return data


def client_crypto(repeat: int) -> dict[str, float]:
    """Microseconds per operation of the client's crypto, in this process (no server)."""
    from parley.client import E2EEDevice, ParleyClient

    def device(user: str, dev: str) -> E2EEDevice:
        return E2EEDevice(ParleyClient(user_id=user, device_id=dev, token="-"))

    alice, bob = device("1", "11"), device("2", "21")
    room = "!dm-1-2:parley"
    bob.account.generate_one_time_keys(1)
    alice.open_olm_session(bob.as_peer, next(iter(bob.account.one_time_keys.values())).to_base64())
    handed = alice.olm_encrypt(bob.as_peer, "m.room_key", alice.room_key(room))
    bob.accept_room_key(bob.decrypt_to_device({"type": "m.room.encrypted", "sender": alice.user, "content": handed}))
    t0 = time.perf_counter()
    payloads = [alice.megolm_encrypt(room, {"msgtype": "m.text", "body": TEXT}) for _ in range(repeat)]
    encrypt = time.perf_counter() - t0
    t0 = time.perf_counter()
    for payload in payloads:
        bob.megolm_decrypt(room, payload)
    decrypt = time.perf_counter() - t0
    # A room key share to one more device: open an Olm session from its one-time key, encrypt the m.room_key.
    shares = max(20, repeat // 20)
    peers = [device(str(10 + i), str(100 + i)) for i in range(shares)]
    keys = []
    for peer in peers:
        peer.account.generate_one_time_keys(1)
        keys.append(next(iter(peer.account.one_time_keys.values())).to_base64())
    room_key = alice.room_key(room)
    t0 = time.perf_counter()
    for peer, one_time_key in zip(peers, keys, strict=True):
        alice.open_olm_session(peer.as_peer, one_time_key)
        alice.olm_encrypt(peer.as_peer, "m.room_key", room_key)
    share = time.perf_counter() - t0
    return {
        "megolm_encrypt_us": round(encrypt / repeat * 1e6, 1),
        "megolm_decrypt_us": round(decrypt / repeat * 1e6, 1),
        "room_key_share_per_device_us": round(share / shares * 1e6, 1),
    }


def main(args: argparse.Namespace) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="parley-bench-e2ee-"))
    try:
        parley_cli(data_dir, "db", "upgrade")
        people = run_async(seed(data_dir, args.pairs))
        rows: dict[str, Any] = {}
        plain, enc = data_dir / "plain.txt", data_dir / "encrypted.txt"
        server = Server.parley(data_dir, data_dir)
        server.start()
        try:
            rows["setup"] = asyncio.run(prepare(server.port, people, args.per_pair, data_dir))
            run_wrk(server.port, "send.lua", plain, "", args.connections, 3)  # warm-up
            runs: dict[str, list[dict[str, Any]]] = {"plaintext": [], "encrypted": []}
            for _ in range(args.rounds):
                for name, script, data in (("plaintext", "send.lua", plain), ("encrypted", "send.lua", enc)):
                    cpu = server.cpu()
                    result = run_wrk(server.port, script, data, "", args.connections, args.duration)
                    result["server_cpu_s"] = server.cpu() - cpu
                    result["server_cpu_us_per_send"] = round(result["server_cpu_s"] / max(1, result["ok"]) * 1e6, 1)
                    runs[name].append(result)
                    server.quiesce()
            rows["runs"] = runs
        finally:
            server.stop()
        # The floor: the raw ASGI app answering the same requests (it parses the body, then answers).
        raw = Server.baseline("raw", data_dir)
        raw.start()
        try:
            rows["raw_asgi"] = {
                "plaintext": run_wrk(raw.port, "send.lua", plain, "", args.connections, args.duration),
                "encrypted": run_wrk(raw.port, "send.lua", enc, "", args.connections, args.duration),
            }
        finally:
            raw.stop()
        rows["client_crypto"] = client_crypto(args.crypto_repeat)

        def total(name: str, key: str) -> float:
            return float(sum(r[key] for r in runs[name]))

        per_send = {n: total(n, "server_cpu_s") / max(1.0, total(n, "ok")) * 1e6 for n in runs}
        rate = {n: total(n, "ok") / (total(n, "duration_us") / 1e6) for n in runs}
        summary = {
            "pairs": args.pairs,
            "plaintext_sends_per_s": round(rate["plaintext"], 1),
            "encrypted_sends_per_s": round(rate["encrypted"], 1),
            "plaintext_server_cpu_us_per_send": round(per_send["plaintext"], 1),
            "encrypted_server_cpu_us_per_send": round(per_send["encrypted"], 1),
            "encrypted_over_plaintext_cpu": round(per_send["encrypted"] / per_send["plaintext"], 3),
            "plaintext_over_encrypted_rate": round(rate["plaintext"] / rate["encrypted"], 3),
            "non_2xx": {n: sum(r["errors"]["status"] for r in runs[n]) for n in runs},
            "p99_ms": {n: max(r["latency_us"]["p99"] for r in runs[n]) / 1000 for n in runs},
            "raw_asgi_per_s": {n: rows["raw_asgi"][n]["ok_per_second"] for n in runs},
            "goal_met": per_send["encrypted"] <= 1.2 * per_send["plaintext"],
            **rows["client_crypto"],
            **rows["setup"],
            "loadavg_after": loadavg(),
        }
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    print("SUMMARY", json.dumps(summary))
    saved = BENCH_DIR / "results" / f"e2ee-{int(time.time())}.json"
    saved.parent.mkdir(exist_ok=True)
    saved.write_text(json.dumps({"summary": summary, **rows}, indent=1))


# (option, type, default, help) of the command line; --quick lowers the sizes.
OPTIONS: list[tuple[str, type, float, str]] = [
    ("--pairs", int, 100, "sender -> recipient pairs"),
    ("--per-pair", int, 20, "pre-encrypted messages per pair"),
    ("--connections", int, 64, "wrk connections"),
    ("--duration", float, 10.0, "seconds per wrk run"),
    ("--rounds", int, 3, "plaintext then encrypted runs, alternated"),
    ("--crypto-repeat", int, 5000, "Megolm messages encrypted and decrypted in the client crypto figure"),
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for flag, kind, default, text in OPTIONS:
        parser.add_argument(flag, type=kind, default=default, help=text)
    parser.add_argument("--keep", action="store_true", help="keep the data dir afterwards")
    parser.add_argument("--quick", action="store_true", help="a smoke run with small numbers")
    quick = {"pairs": 20, "per_pair": 5, "duration": 4.0, "rounds": 1, "crypto_repeat": 500}
    return parse_with_quick(parser, argv, lambda _parser: quick)


if __name__ == "__main__":
    main(parse_args())
