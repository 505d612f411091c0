"""Benchmark: single partner feed events (and family, child and referral creation) per second, as a share of a hello endpoint.

Run: .venv/bin/python bench/feed_throughput.py [--seconds 10] [--compare REF] [--modes allinone,distributed]
Each request is a new partner event (new external_id) for a child that exists, `wrk -t1 -c16`.
all-in-one: through `eoc up` (SQLite); distributed: straight to referral-svc's own port (PostgreSQL).
`--compare REF` runs the same figures for a git commit (e.g. main) in the same run. The hello endpoint is
measured right before each figure. Goal: ≥ 20 % of hello. Each line also gives the CPU per request of the
serving process and its requests per CPU-second as a share of the hello server's (steadier on a loaded machine).
"""

from __future__ import annotations

import argparse
import textwrap

from _common import (
    checkout,
    cpu_seconds,
    feed_script,
    hello_server,
    make_child,
    pid_on_port,
    platform,
    ratio,
    service_ports,
    token,
    wrk,
)

FAMILY_LUA = textwrap.dedent(
    """
    local counter = 0
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["Authorization"] = "Bearer %(token)s"
    request = function()
      counter = counter + 1
      local body = '{"la_reference":"FAM-%(prefix)s-' .. counter .. '","postcode_district":"LS6",'
        .. '"primary_language":"en","interpreter_needed":false}'
      return wrk.format(nil, "/referrals/families", nil, body)
    end
    """
)

CHILD_LUA = textwrap.dedent(
    """
    local counter = 0
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["Authorization"] = "Bearer %(token)s"
    request = function()
      counter = counter + 1
      local body = '{"la_child_id":"C-%(prefix)s-' .. counter .. '","given_name":"Test","family_name":"Child",'
        .. '"date_of_birth":"2015-06-15","sex":"F","ethnicity":"WBRI","legal_status":"CPP"}'
      return wrk.format(nil, "/referrals/families/%(family_id)s/children", nil, body)
    end
    """
)

REFERRAL_LUA = textwrap.dedent(
    """
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["Authorization"] = "Bearer %(token)s"
    wrk.body = '{"family_id":"%(family_id)s","child_ids":["%(child_id)s"],"referred_on":"2024-05-01",'
      .. '"source":"legal_planning_meeting","risk_factors":["behaviour"],"threshold_for_removal_met":true}'
    """
)

FIGURES = ("feed event", "family", "child", "referral")


def measure(mode: str, env: dict[str, str], seconds: int, hello_url: str, label: str,
            figures: tuple[str, ...] = FIGURES) -> dict[str, float]:
    import uuid

    results: dict[str, float] = {}
    hello_pid = pid_on_port(int(hello_url.rsplit(":", 1)[1].split("/")[0]))
    with platform(distributed=mode == "distributed", env=env) as (base, data_dir, proc):
        target, pid = base, proc.pid
        if mode == "distributed":
            port = service_ports(data_dir)["referral"]
            target, pid = f"http://127.0.0.1:{port}", pid_on_port(port)
        social = token(data_dir, "social_worker")
        police = token(data_dir, "partner_feed", "police")
        family_id, child_id, la_child_id = make_child(base, social)
        wrk(target + "/referrals/feeds/police/events", seconds=2, script=feed_script(police, la_child_id))  # warm-up
        for name, script in (
            ("feed event", feed_script(police, la_child_id)),
            ("family", FAMILY_LUA % {"token": social, "prefix": uuid.uuid4().hex[:8]}),
            ("child", CHILD_LUA % {"token": social, "prefix": uuid.uuid4().hex[:8], "family_id": family_id}),
            # every referral is decided by eligibility-svc and read by the others: the whole platform's work
            ("referral", REFERRAL_LUA % {"token": social, "family_id": family_id, "child_id": child_id}),
        ):
            if name not in figures:
                continue
            # The hello endpoint right before each figure: the machine's load moves within a run.
            hello_seconds = max(3, seconds // 2)
            before = cpu_seconds(hello_pid)
            hello = wrk(hello_url, seconds=hello_seconds)["rps"]
            hello_per_cpu = hello * hello_seconds / max(cpu_seconds(hello_pid) - before, 1e-9)
            before = cpu_seconds(pid)
            r = wrk(target + ("/referrals" if name == "referral" else "/"), seconds=seconds, script=script)
            # Requests per CPU-second of the serving process (all-in-one: the whole platform's process;
            # distributed: referral-svc's), against the hello server's: steadier than req/s when the
            # machine's load decides how much CPU each process gets.
            per_cpu = r["rps"] * seconds / max(cpu_seconds(pid) - before, 1e-9)
            results[name] = r["rps"]
            print(f"[{label}] {mode:11s} {name:10s}: {ratio(r['rps'], hello)}, mean {r['mean_ms']:.1f} ms"
                  + (f", {r['non2xx']:.0f} non-2xx" if r["non2xx"] else "")
                  + f"; CPU: {1000 / per_cpu:.2f} ms per request = {100 * per_cpu / hello_per_cpu:.1f} % of hello's "
                  f"requests per CPU-second ({1000 / hello_per_cpu:.3f} ms)", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--compare", help="a git commit to measure side by side (e.g. main)")
    parser.add_argument("--modes", default="allinone,distributed")
    parser.add_argument("--figures", default=",".join(FIGURES), help="some of: " + ", ".join(FIGURES))
    args = parser.parse_args()
    figures = tuple(args.figures.split(","))
    with hello_server() as hello_url:
        wrk(hello_url, seconds=2)  # warm-up
        for mode in args.modes.split(","):
            if args.compare:
                with checkout(args.compare) as env:
                    measure(mode, env, args.seconds, hello_url, args.compare, figures)
            measure(mode, {}, args.seconds, hello_url, "this", figures)


if __name__ == "__main__":
    main()
