#!/usr/bin/env python3
"""TLS admission cost by server key type (issue 9, item 2).

Interleaved rounds of: a fresh dirscope-server with its own ECDSA P-256
certificate from --state-dir (the default), or with an RSA-2048 certificate
made by `openssl req` (--cert-file/--key-file); then N swarm nodes joining
over TLS 1.3. Measures admission (swarm start until the server has all N,
nodes/s) and the server's CPU per join (CPU-seconds during admission / N).

usage: bench/admission_bench.py [--bin-dir build] [--nodes 1000] [--rounds 5]
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import scale_bench as sb  # noqa: E402


def rsa_cert(tmp):
    cert = os.path.join(tmp, "rsa.crt")
    key = os.path.join(tmp, "rsa.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    return cert, key


def one_run(args, kind, tmp, index, rsa):
    workdir = os.path.join(tmp, "run%d" % index)
    os.makedirs(workdir)
    extra = list(args.server_arg)
    if kind == "rsa-2048":
        extra += ["--cert-file=" + rsa[0], "--key-file=" + rsa[1]]
    with sb.Fleet(workdir, args.nodes, extra,
                  os.path.join(tmp, "state")) as fleet:
        server = fleet.server
        target = types.SimpleNamespace(
            host=server.host, port=server.port,
            ca_file=rsa[0] if kind == "rsa-2048" else server.ca_file,
            token_file=server.token_file)
        c0, t0 = sb.cpu_seconds(server.pid), time.monotonic()
        swarm = fleet.start_swarm(args, target)
        fleet.wait_joined(what="%s: not all nodes joined" % kind)
        seconds = time.monotonic() - t0
        cpu = sb.cpu_seconds(server.pid) - c0
        return {"rate": args.nodes / seconds, "ms": 1000.0 * cpu / args.nodes,
                "failures": swarm.failures()}


def main():
    ap = sb.bench_parser(__doc__, 1000)
    ap.add_argument("--rounds", type=int, default=5)
    sb.swarm_flags(ap)
    args = sb.parse_bench_args(ap)
    kinds = ["ecdsa-p256", "rsa-2048"]
    load_start = sb.loadavg()
    results = {k: [] for k in kinds}
    with tempfile.TemporaryDirectory(prefix="dirscope-admit-") as tmp:
        rsa = rsa_cert(tmp)
        index = 0
        for r in range(args.rounds):
            for kind in kinds:
                index += 1
                row = one_run(args, kind, tmp, index, rsa)
                results[kind].append(row)
                print("round %d %-10s %6.0f nodes/s  %5.2f ms CPU/join  "
                      "failures %d  load %s"
                      % (r + 1, kind, row["rate"], row["ms"],
                         row["failures"], sb.loadavg()),
                      file=sys.stderr, flush=True)
    print("\n%d nodes per run, %d rounds, load at start %s, at end %s\n"
          % (args.nodes, args.rounds, load_start, sb.loadavg()))
    print("| server key | admission (median) | server CPU per join (median) "
          "| CPU ratio to ecdsa-p256 (median of paired) |")
    print("|---|---|---|---|")
    for kind in kinds:
        rows = results[kind]
        ratios = [b["ms"] / a["ms"]
                  for a, b in zip(results[kinds[0]], rows) if a["ms"] > 0]
        print("| %s | %.0f nodes/s | %.2f ms | %.2f |"
              % (kind, statistics.median(x["rate"] for x in rows),
                 statistics.median(x["ms"] for x in rows),
                 statistics.median(ratios)))


if __name__ == "__main__":
    main()
