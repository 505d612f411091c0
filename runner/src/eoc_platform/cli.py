"""`eoc`: run the platform and issue development tokens (see the Operations contract)."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from eoc_platform import registry


class _StopRequested(Exception):
    pass


def _stop_requested(_signum: int, _frame: object) -> None:
    raise _StopRequested


class _Roles:
    """The role names for `eoc token --role`, read only when that option is parsed or its help shown (with a
    metavar, argparse does not list them while building the parser): eoc_shared.auth imports FastAPI,
    which `eoc up` should not wait for before starting the broker."""

    def __iter__(self) -> Iterator[str]:
        from eoc_shared.auth import Role

        return iter([r.value for r in Role])

    def __contains__(self, value: object) -> bool:
        return value in list(self)


def _import_platform() -> None:
    """Import what `eoc up` runs; a failure shows again, with its traceback, at the import that follows."""
    try:
        import uvicorn  # noqa: F401

        import eoc_platform.allinone  # noqa: F401
    except Exception:  # noqa: BLE001, S110
        pass


def _up(args: argparse.Namespace) -> int:
    if args.distributed:
        from eoc_platform.distributed import parse_replicas, run_distributed

        try:
            replicas = parse_replicas(args.replicas or "")
        except ValueError as exc:
            print(f"eoc up: {exc}", file=sys.stderr)
            return 2
        return run_distributed(port=args.port, data_dir=args.data_dir, database_url=args.database_url,
                               host=args.host, database_prefix=args.database_prefix, replicas=replicas)
    if args.replicas:
        print("eoc up: --replicas needs --distributed (all-in-one runs each service once)", file=sys.stderr)
        return 2

    from eoc_shared.broker import BrokerSupervisor, EmbeddedBroker

    data_dir = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    # The platform's modules (seconds of CPU) are imported in a thread while this one starts the broker. Not
    # the other way round: the broker dies with the thread that started it (PR_SET_PDEATHSIG is per thread).
    importing = threading.Thread(target=_import_platform, name="import-platform", daemon=True)
    importing.start()
    # One partition per topic: all-in-one runs one member per consumer group, which reads every partition
    # of its topics in each fetch; four cost a third more idle CPU (33 % of a core against 23 %, measured).
    broker = EmbeddedBroker(log_file=data_dir / "broker.log", partitions=1)
    try:
        broker.start()
    finally:
        importing.join()

    import uvicorn

    from eoc_platform.allinone import create_platform
    from eoc_shared.auth import ensure_dev_keypair
    from eoc_shared.logging import configure_logging

    configure_logging()
    ensure_dev_keypair(data_dir)
    supervisor = BrokerSupervisor(broker)  # restarts it on the same address if it exits
    supervisor.start()
    print(f"eoc: broker on {broker.bootstrap}; platform on http://{args.host}:{args.port} (data in {data_dir})", flush=True)
    # The board paper (finance) reads follow-up sustainability from outcomes through this same origin.
    local = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    os.environ.setdefault("EOC_FINANCE_OUTCOMES_URL", f"http://{local}:{args.port}")
    try:
        app = create_platform(data_dir, broker.bootstrap)
        config = uvicorn.Config(app, host=args.host, port=args.port, lifespan="on", access_log=False,
                                log_level="warning", timeout_graceful_shutdown=10)
        server = uvicorn.Server(config)
        # uvicorn shuts down gracefully, then re-raises the signal it caught; that re-raise is our clean exit.
        signal.signal(signal.SIGTERM, _stop_requested)
        try:
            server.run()
        except (KeyboardInterrupt, _StopRequested):
            pass
        return 0 if server.started else 1
    finally:
        supervisor.stop()
        broker.stop()
        print("eoc: stopped", flush=True)


def _migrate(args: argparse.Namespace) -> int:
    from eoc_platform.migrate import migrate

    try:
        print(f"eoc migrate: {args.service} at {migrate(args.service, args.database_url)}")
    except Exception as exc:  # noqa: BLE001 - one line for the operator, the code for the job
        print(f"eoc migrate {args.service}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


def _token(args: argparse.Namespace) -> int:
    from eoc_shared.auth import issue_dev_token

    try:
        print(issue_dev_token(args.data_dir.resolve(), args.role, source=args.source, subject=args.subject))
    except ValueError as exc:
        print(f"eoc token: {exc}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="eoc", description="Edge of Care platform")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run the platform (all-in-one by default) until Ctrl-C")
    up.add_argument("--port", type=int, default=8000)
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--data-dir", type=Path, default=Path("./var"))
    up.add_argument("--distributed", action="store_true", help="one process per service, PostgreSQL, nginx gateway")
    up.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres",
                    help="distributed: the PostgreSQL server to create each service's database on")
    up.add_argument("--database-prefix", default="eoc_",
                    help="distributed: databases are named PREFIX + service (default eoc_referral, …)")
    up.add_argument("--replicas", metavar="SERVICE=N,…",
                    help="distributed: run a service as N processes sharing its database and consumer groups, "
                         "e.g. eligibility=2,outcomes=2")
    up.set_defaults(func=_up)

    mig = sub.add_parser("migrate", help="migrate one service's database to the newest schema, then exit")
    mig.add_argument("service", choices=registry.NAMES)
    mig.add_argument("--database-url", help="the service's own database (default: from its settings, "
                     "EOC_<SERVICE>_DATABASE_URL or EOC_DATABASE_URL)")
    mig.set_defaults(func=_migrate)

    tok = sub.add_parser("token", help="print a development bearer token (valid 1 hour)")
    tok.add_argument("--role", required=True, choices=_Roles(), metavar="ROLE", help="one of %(choices)s")
    tok.add_argument("--data-dir", type=Path, default=Path("./var"))
    tok.add_argument("--source", choices=["police", "health", "education", "youth_justice"])
    tok.add_argument("--subject", help="the actor named in the audit log (default: a generated id)")
    tok.set_defaults(func=_token)

    from eoc_platform.dlq import add_parser as add_dlq_parser

    add_dlq_parser(sub)

    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
