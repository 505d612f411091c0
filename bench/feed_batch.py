"""Benchmark: partner feed batches (1,000 events each) per second on PostgreSQL, against a hello endpoint.

Run: .venv/bin/python bench/feed_batch.py [--seconds 10] [--size 1000] [--connections 2]
`eoc up --distributed`, straight to referral-svc's own port; every event new and matched to a child that
exists, so each one also writes a `partner.event.received` to the outbox (which the relay publishes
meanwhile, in the same process). Also per CPU-second of referral-svc's process, which a loaded machine
moves less than per second. Goal: ≥ 20,000 events/s.
"""

from __future__ import annotations

import argparse
import textwrap
import uuid

from _common import cpu_seconds, hello_cpu, hello_rps, make_child, pid_on_port, platform, service_ports, token, wrk

BATCH_LUA = textwrap.dedent(
    """
    local counter = 0
    local size = %(size)d
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["Authorization"] = "Bearer %(token)s"
    request = function()
      local parts = {}
      for i = 1, size do
        counter = counter + 1
        parts[i] = '{"external_id":"%(prefix)s-' .. counter .. '","occurred_at":"2026-11-30T22:00:00Z",'
          .. '"child":{"la_child_id":"%(la_child_id)s"},"kind":"missing_episode"}'
      end
      return wrk.format(nil, "/referrals/feeds/police/events/batch", nil, '{"events":[' .. table.concat(parts, ",") .. ']}')
    end
    """
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=2)
    args = parser.parse_args()
    hello, hello_per_cpu = hello_cpu(args.seconds)
    print(f"hello endpoint: {hello:,.0f} req/s, {hello_per_cpu:,.0f} requests per CPU-second", flush=True)
    with platform(distributed=True) as (base, data_dir, _proc):
        target = f"http://127.0.0.1:{service_ports(data_dir)['referral']}/"
        _family, _child, la_child_id = make_child(base, token(data_dir, "social_worker"))
        police = token(data_dir, "partner_feed", "police")

        def script() -> str:
            return BATCH_LUA % {"token": police, "la_child_id": la_child_id, "size": args.size,
                                "prefix": uuid.uuid4().hex[:8]}

        pid = pid_on_port(service_ports(data_dir)["referral"])
        wrk(target, seconds=3, connections=args.connections, script=script())  # warm-up
        before = cpu_seconds(pid)
        r = wrk(target, seconds=args.seconds, connections=args.connections, script=script(), timeout=30)
        used = cpu_seconds(pid) - before
        events = r["rps"] * args.size
        per_cpu = events * args.seconds / max(used, 1e-9)
        print(f"batch of {args.size}: {per_cpu:,.0f} events per CPU-second of referral-svc "
              f"({per_cpu / hello_per_cpu:.2f} events per hello request, CPU for CPU)", flush=True)
        print(f"batch of {args.size}: {r['rps']:.1f} batches/s = {events:,.0f} events/s "
              f"({events / hello:.2f} events per hello request), mean {r['mean_ms']:.0f} ms per batch"
              + (f", {r['non2xx']:.0f} non-2xx" if r["non2xx"] else ""), flush=True)
        single = wrk(target, seconds=args.seconds, connections=16, script=script().replace(
            f"local size = {args.size}", "local size = 1"))
        print(f"batch of 1: {single['rps']:,.0f} events/s ({100 * single['rps'] / hello:.1f} % of hello)")
    print(f"hello endpoint again: {hello_rps(args.seconds):,.0f} req/s")


if __name__ == "__main__":
    main()
