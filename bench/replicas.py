"""Benchmark: does a consumer's throughput grow with a second replica? eligibility-svc deciding referrals.

Run: .venv/bin/python bench/replicas.py [--events 2000]
For 1 and then 2 eligibility replicas (`eoc up --distributed --replicas eligibility=N`), produce N
`referral.created` events straight onto the broker and time until eligibility-svc's database holds a
decision for each. Prints decisions/s for each, their ratio, and the hello endpoint of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
import uuid
from datetime import date

import asyncpg
from _common import hello_rps, platform
from aiokafka import AIOKafkaProducer

from eoc_shared.events.envelope import build_envelope
from eoc_shared.events.schemas import ChildFacts, ReferralCreated


async def _decide(bootstrap: str, dsn: str, n: int) -> float:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, linger_ms=5)
    await producer.start()
    ids = [uuid.uuid4() for _ in range(n)]
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        for rid in ids:
            env = build_envelope("referral.created", key=str(rid), source="urn:eoc:referral", data=ReferralCreated(
                referral_id=rid, family_id=uuid.uuid4(), referred_on=date(2024, 5, 1), source="legal_planning_meeting",
                risk_factors=["behaviour"], threshold_for_removal_met=True,
                children=[ChildFacts(child_id=uuid.uuid4(), age_years=12, legal_status="CPP")]))
            await producer.send("referral.created", json.dumps({k: v for k, v in env.items() if k[0] != "_"}).encode(),
                                key=str(rid).encode())
        await producer.flush()
        while await conn.fetchval("SELECT count(*) FROM decisions WHERE referral_id = ANY($1::uuid[])", ids) < n:
            await asyncio.sleep(0.1)
        return n / (time.perf_counter() - started)
    finally:
        await conn.close()
        await producer.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()
    hello = hello_rps(5)
    print(f"hello endpoint: {hello:,.0f} req/s", flush=True)
    rates = {}
    for replicas in (1, 2):
        with platform(distributed=True, extra=["--replicas", f"eligibility={replicas}"]) as (_base, data_dir, _p):
            log = (data_dir / "eoc.log").read_text()
            bootstrap = re.search(r"broker on (\S+),", log).group(1)  # type: ignore[union-attr]
            prefix = re.search(r"created databases (\w+?)referral", log).group(1)  # type: ignore[union-attr]
            dsn = f"postgresql://postgres@127.0.0.1:5432/{prefix}eligibility"
            asyncio.run(_decide(bootstrap, dsn, 50))  # warm-up
            rates[replicas] = asyncio.run(_decide(bootstrap, dsn, args.events))
            print(f"eligibility × {replicas}: {rates[replicas]:,.0f} decisions/s "
                  f"({1000 * rates[replicas] / hello:.1f} per 1,000 hello requests)", flush=True)
    print(f"second replica: × {rates[2] / rates[1]:.2f} throughput")


if __name__ == "__main__":
    main()
