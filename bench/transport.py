"""Client CPU per MB of three port-forward clients fetching the same ztunnel config_dump.

    .venv/bin/python -m bench.transport --nodes 20 --fetches 20

The simulated cluster runs in its own process (`python -m tests.fakecluster serve`), so this
process's CPU time (`time.process_time`, all threads) is the client's alone — the figure to compare
on a loaded, shared machine, where wall time says more about the neighbours than about the client.
- kubernetes: `collector.kube.port_forward_get`, the official client's port-forward (what collect uses);
- aiohttp: a WebSocket on aiohttp (C-accelerated frame reader), one shared SSL context;
- lean: `collector.transport_ws`, what collect uses since issue 17 (the body kept, as collect keeps it);
- raw: `bench.floor`'s client — ssl socket, frame headers parsed, payload read into a reused buffer.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _kubernetes(kubeconfig: Path) -> Callable[[str, str, int, str], int]:
    from collector.kube import ClientPool, load_cluster_config, port_forward_get

    pool = ClientPool(load_cluster_config(str(kubeconfig), None).configuration)

    def fetch(ns: str, pod: str, port: int, path: str) -> int:
        reply = port_forward_get(pool.get(), ns, pod, port, path, timeout_s=30, max_bytes=1 << 30)
        try:
            return reply.body.size
        finally:
            reply.body.close()

    return fetch


def _lean(kubeconfig: Path) -> Callable[[str, str, int, str], int]:
    from collector import transport_ws
    from collector.kube import ClientPool, load_cluster_config

    cfg = load_cluster_config(str(kubeconfig), None).configuration
    pool, ctx = ClientPool(cfg), transport_ws.ssl_context(cfg)

    def fetch(ns: str, pod: str, port: int, path: str) -> int:
        reply = transport_ws.get(pool.get(), ctx, ns, pod, port, path, timeout_s=30, max_bytes=1 << 30)
        try:
            return reply.body.size
        finally:
            reply.body.close()

    return fetch


def _raw(kubeconfig: Path) -> Callable[[str, str, int, str], int]:
    from bench.floor import Client

    client = Client(kubeconfig)

    def fetch(ns: str, pod: str, port: int, path: str) -> int:
        before = client.moved
        client.forward(f"/api/v1/namespaces/{ns}/pods/{pod}/portforward", port, path)
        return client.moved - before

    return fetch


def _aiohttp(kubeconfig: Path) -> Callable[[str, str, int, str], int]:
    import aiohttp

    from bench.floor import Client

    conf = Client(kubeconfig)  # server, token and one SSL context, read the same way
    loop = asyncio.new_event_loop()

    async def get(ns: str, pod: str, port: int, path: str) -> int:
        url = f"https://{conf.host}:{conf.port}/api/v1/namespaces/{ns}/pods/{pod}/portforward?ports={port}"
        headers = {"Authorization": f"Bearer {conf.token}"}
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(
                url, protocols=("v4.channel.k8s.io",), headers=headers, ssl=conf.ssl, max_msg_size=0
            ) as ws,
        ):
            request = f"GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n"
            await ws.send_bytes(b"\x00" + request.encode())
            moved = 0
            async for msg in ws:
                if msg.type is aiohttp.WSMsgType.BINARY and msg.data[:1] == b"\x00":
                    moved += len(msg.data) - 1
            return moved

    def fetch(ns: str, pod: str, port: int, path: str) -> int:
        return loop.run_until_complete(get(ns, pod, port, path))

    return fetch


CLIENTS = {"kubernetes": _kubernetes, "lean": _lean, "aiohttp": _aiohttp, "raw": _raw}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.transport", description=__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int, default=20, help="synthetic cluster size (the dump grows with it)")
    p.add_argument("--fetches", type=int, default=20)
    args = p.parse_args(argv)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakecluster",
            "serve",
            "--scenario",
            "synthetic",
            "--nodes",
            str(args.nodes),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        kubeconfig = Path(server.stdout.readline().strip())
        ns, pod = "istio-system", _first_ztunnel(kubeconfig)
        print("| client | fetches | MB | CPU s | CPU ms/MB | wall s |")
        print("|---|---|---|---|---|---|")
        for name, make in CLIENTS.items():
            fetch = make(kubeconfig)
            fetch(ns, pod, 15000, "/config_dump")  # warm up: imports, first handshake
            cpu, wall, moved = time.process_time(), time.perf_counter(), 0
            for _ in range(args.fetches):
                moved += fetch(ns, pod, 15000, "/config_dump")
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            mb = moved / 1e6
            print(
                f"| {name} | {args.fetches} | {mb:.1f} | {cpu:.2f} | {1000 * cpu / mb:.1f} | {wall:.2f} |",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(10)
    return 0


def _first_ztunnel(kubeconfig: Path) -> str:
    from collector.discovery import Options, discover
    from collector.kube import ClientPool, load_cluster_config

    cfg = load_cluster_config(str(kubeconfig), None)
    plan = discover(ClientPool(cfg.configuration).get(), Options(), cfg.configuration.host)
    return plan.ztunnels[0].name


if __name__ == "__main__":
    raise SystemExit(main())
