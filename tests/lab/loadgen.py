# Copyright: contributors to the orocloud.ops collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bounded HTTP(S) load generator for the lab's client node (standard library only).

Runs `--concurrency` keep-alive clients against one URL until the stop file appears AND at least
`--min-requests` were sent (or `--max-seconds` passed), then writes a JSON summary: requests, failures (any
5xx, connection reset or refused, timeout, malformed answer — each with its time and reason), answers per
status and per application version and host (from the JSON of /health), and latency percentiles.

    python3 loadgen.py --url https://10.231.0.10/health --stop-file /tmp/stop --out /tmp/load.json

A request that fails is counted once and never retried: a retry would hide the failure.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.failures = []
        self.statuses = {}
        self.versions = {}
        self.latencies = []
        self.idle_closes = 0

    def record(self, status, latency, body=None, failure=None, started=0.0):
        with self.lock:
            self.requests += 1
            self.latencies.append(latency)
            self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
            if failure is not None:
                self.failures.append({"at": round(started, 3), "status": status, "reason": failure[:200]})
            elif body is not None:
                key = "%s@%s" % (body.get("version", "?"), body.get("host", "?"))
                self.versions[key] = self.versions.get(key, 0) + 1


def _connection(url, timeout):
    if url.scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return http.client.HTTPSConnection(url.hostname, url.port or 443, timeout=timeout, context=context)
    return http.client.HTTPConnection(url.hostname, url.port or 80, timeout=timeout)


def worker(url, stats, should_stop, *, timeout, t0, interval):
    target = url.path or "/"
    if url.query:
        target += "?" + url.query
    connection = None
    while not should_stop():
        if connection is None:
            connection = _connection(url, timeout)
        started = time.monotonic()
        try:
            connection.request("GET", target, headers={"User-Agent": "orocloud-lab-loadgen"})
            response = connection.getresponse()
            payload = response.read()
            latency = time.monotonic() - started
            if response.status >= 500:
                stats.record(response.status, latency, failure="HTTP %d" % response.status, started=started - t0)
            else:
                try:
                    body = json.loads(payload)
                except ValueError:
                    body = {}
                stats.record(response.status, latency, body=body if isinstance(body, dict) else {})
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
                connection = None
        except (OSError, http.client.HTTPException) as error:
            # A keep-alive connection the load balancer closed while idle, before this request was sent,
            # is not a failed request: browsers resend it too. Anything else is.
            latency = time.monotonic() - started
            idle_close = isinstance(error, http.client.RemoteDisconnected) and latency < 0.001
            if idle_close:
                with stats.lock:
                    stats.idle_closes += 1
            else:
                stats.record("error", latency, failure="%s: %s" % (type(error).__name__, error), started=started - t0)
            connection.close()
            connection = None
        if interval:
            time.sleep(interval)


def percentile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--min-requests", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    parser.add_argument("--duration", type=float, default=None, help="run this long, ignoring the stop file")
    parser.add_argument("--stop-file", default=None)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=0.0, help="pause of each client between requests")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    url = urllib.parse.urlsplit(args.url)
    stats = Stats()
    t0 = time.monotonic()

    def should_stop():
        elapsed = time.monotonic() - t0
        if elapsed >= args.max_seconds:
            return True
        if args.duration is not None:
            return elapsed >= args.duration
        asked = args.stop_file is not None and os.path.exists(args.stop_file)
        return asked and stats.requests >= args.min_requests

    threads = [
        threading.Thread(
            target=worker,
            args=(url, stats, should_stop),
            kwargs={"timeout": args.timeout, "t0": t0, "interval": args.interval},
            daemon=True,
        )
        for _client in range(args.concurrency)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - t0

    summary = {
        "url": args.url,
        "concurrency": args.concurrency,
        "seconds": round(elapsed, 3),
        "requests": stats.requests,
        "failed": len(stats.failures),
        "failures": stats.failures[:50],
        # When the first and the last failed request started (seconds from the start): a downtime window.
        "failure_span": [min(f["at"] for f in stats.failures), max(f["at"] for f in stats.failures)]
        if stats.failures else None,
        # Keep-alive connections found closed before a request was sent on them (resent, not failed).
        "idle_closes": stats.idle_closes,
        "statuses": stats.statuses,
        "versions": stats.versions,
        "rate": round(stats.requests / elapsed, 1) if elapsed else None,
        "latency_ms": {
            name: round(1000 * value, 2) if value is not None else None
            for name, value in (
                ("p50", percentile(stats.latencies, 0.50)),
                ("p99", percentile(stats.latencies, 0.99)),
                ("max", max(stats.latencies) if stats.latencies else None),
            )
        },
    }
    tmp = args.out + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(summary, handle, indent=1)
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
