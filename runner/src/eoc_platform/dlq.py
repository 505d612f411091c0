"""`eoc dlq list|replay`: dead letters through each service's ops API, as an operator at 3 a.m. needs them."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported by `eoc dlq` itself: `eoc up` builds this parser too and starts faster without
    import httpx

#: service name (the first part of a consumer's name) → its path prefix behind the gateway
PREFIXES = {"referral": "/referrals", "eligibility": "/eligibility", "outcomes": "/outcomes", "finance": "/finance"}


def _token(args: argparse.Namespace) -> str:
    if args.token or os.environ.get("EOC_TOKEN"):
        return str(args.token or os.environ["EOC_TOKEN"])
    from eoc_shared.auth import issue_dev_token

    return issue_dev_token(Path(args.data_dir).resolve(), "ops")


def _service_of(consumer: str) -> str:
    service = consumer.split(".", 1)[0]
    if service not in PREFIXES or "." not in consumer:
        raise ValueError(f"--consumer {consumer!r} is not <service>.<topic> (service one of {', '.join(PREFIXES)})")
    return service


def _age(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _list(args: argparse.Namespace, client: httpx.Client) -> int:
    services = [_service_of(args.consumer)] if args.consumer else list(PREFIXES)
    params = {k: v for k, v in (("topic", args.topic), ("consumer", args.consumer), ("status", args.status)) if v}
    rows: list[dict[str, Any]] = []
    for service in services:
        r = client.get(f"{PREFIXES[service]}/dlq", params=params)
        if r.status_code != 200:
            print(f"eoc dlq: {service}: {r.status_code} {r.text[:300]}", file=sys.stderr)
            return 1
        rows.extend(r.json())
    if not rows:
        print("no dead letters")
        return 0
    print(f"{'id':36}  {'consumer':38}  {'attempts':>8}  {'age':>5}  {'status':8}  reason")
    for row in rows:
        reason = " ".join(row["reason"].split())[:100]
        print(f"{row['id']:36}  {row['consumer']:38}  {row['attempts']:>8}  {_age(row['age_seconds']):>5}  "
              f"{row['status']:8}  {reason}")
    return 0


def _replay(args: argparse.Namespace, client: httpx.Client) -> int:
    service = _service_of(args.consumer)
    body: dict[str, Any] = {"topic": args.topic, "consumer": args.consumer}
    if args.id:
        body["ids"] = args.id
    r = client.post(f"{PREFIXES[service]}/dlq/replay", json=body)
    if r.status_code != 200:
        print(f"eoc dlq replay: {r.status_code} {r.text[:500]}", file=sys.stderr)
        return 1
    results = r.json()["results"]
    for item in results:
        print(f"{item['id']}  {item['outcome']}  attempts={item['attempts']}")
    again = sum(1 for i in results if i["outcome"] == "parked_again")
    print(f"replayed {len(results)}: {len(results) - again} handled, {again} parked again")
    return 3 if again else 0


def run(args: argparse.Namespace) -> int:
    import httpx

    try:
        headers = {"Authorization": f"Bearer {_token(args)}"}
        with httpx.Client(base_url=args.url, headers=headers, timeout=60) as client:
            return _list(args, client) if args.dlq_command == "list" else _replay(args, client)
    except (ValueError, FileNotFoundError) as exc:
        print(f"eoc dlq: {exc}", file=sys.stderr)
        return 2
    except httpx.HTTPError as exc:
        print(f"eoc dlq: cannot reach {args.url} ({type(exc).__name__})", file=sys.stderr)
        return 1


def add_parser(sub: Any) -> None:
    dlq = sub.add_parser("dlq", help="list or replay dead letters through the services' ops API")
    dsub = dlq.add_subparsers(dest="dlq_command", required=True)
    for name, helptext in (("list", "show parked messages with reason, attempts and age"),
                           ("replay", "send parked messages back to one consumer, once the cause is fixed")):
        p = dsub.add_parser(name, help=helptext)
        p.add_argument("--url", default=os.environ.get("EOC_URL", "http://127.0.0.1:8000"),
                       help="the platform's origin (gateway), default http://127.0.0.1:8000 or EOC_URL")
        p.add_argument("--token", help="an ops bearer token (default EOC_TOKEN, else a development token)")
        p.add_argument("--data-dir", type=Path, default=Path("./var"), help="where the development key is")
        p.add_argument("--topic", required=name == "replay")
        p.add_argument("--consumer", required=name == "replay", help="<service>.<topic>, e.g. eligibility.referral.created")
        if name == "list":
            p.add_argument("--status", choices=["parked", "replayed", "all"], default="parked")
        else:
            p.add_argument("--id", action="append", help="only this dead letter (repeatable); default: all parked")
    dlq.set_defaults(func=run)
