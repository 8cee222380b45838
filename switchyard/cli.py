"""Command line: ``switchyard serve``, ``switchyard models``, ``switchyard check``, ``switchyard keys``."""

from __future__ import annotations

import argparse
import logging
import sys

from switchyard.catalog import load_catalog
from switchyard.catalog.catalog import CatalogError
from switchyard.config.load import ConfigError, load_config
from switchyard.providers.registry import build_adapters


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="switchyard", description="A self-hosted AI gateway.")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the gateway")
    s.add_argument("--config", help="YAML config file (default: providers from OPENAI_API_KEY, ...)")
    s.add_argument("--host", help="address to bind (default 127.0.0.1, or server.host)")
    s.add_argument("--port", type=int, help="port (default 8787, or server.port)")
    s.add_argument("--workers", type=int, help="worker processes sharing the port (default 1)")
    s.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    m = sub.add_parser("models", help="list the models the configuration can serve")
    m.add_argument("--config")
    c = sub.add_parser("check", help="validate a config file and the catalog, then exit")
    c.add_argument("--config")
    from switchyard.accounts.cli import add_parser as add_keys_parser

    add_keys_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=getattr(logging, getattr(args, "log_level", "info").upper()),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "keys":
        from switchyard.accounts.cli import run as run_keys

        return run_keys(args)
    try:
        config = load_config(args.config)
        catalog = load_catalog(config.models, enabled=config.providers.keys())
        if args.command == "check":
            build_adapters(config.providers)  # credentials files, protocols, options: fail here, not at serve
    except (ConfigError, CatalogError, ValueError) as e:
        print(f"switchyard: {e}", file=sys.stderr)
        return 2
    if args.command == "models":
        for m in catalog:
            print(f"{m.id:50} {', '.join(o.provider for o in m.offerings)}")
        return 0
    if args.command == "check":
        print(f"ok: {len(config.providers)} provider(s), {len(catalog)} model(s)")
        return 0
    from switchyard.serve import serve

    server = config.server
    return serve(config, args.host or server.host, args.port or server.port, args.workers or server.workers)


if __name__ == "__main__":
    sys.exit(main())
