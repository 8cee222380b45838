"""``switchyard keys ...``: manage API keys and projects directly in the configured store (the same
``--config`` file as ``serve``). Acts as the admin: whoever can run it can already read the database.
A created key is printed once, on stdout; nothing else ever prints a key or its hash."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING, Any

from switchyard.accounts.inputs import KeyCreate, KeyPatch, LimitsIn, ProjectIn
from switchyard.errors import GatewayError

if TYPE_CHECKING:
    from switchyard.accounts.service import Accounts


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _limit_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--budget", help="spend allowed per period, in USD ('none' to remove)")
    p.add_argument("--period", choices=["daily", "monthly", "total"], help="budget period (default monthly)")
    p.add_argument("--rpm", help="requests per minute ('none' to remove)")
    p.add_argument("--tpm", help="tokens per minute ('none' to remove)")
    p.add_argument("--models", help="allowed models, comma-separated ('all' for every model)")


def add_parser(sub: Any) -> None:
    k = sub.add_parser("keys", help="manage API keys and projects")
    k.add_argument("--config", help="YAML config file (its accounts: section)")
    k.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    # --config may also follow the subcommand (switchyard keys create ... --config FILE).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=argparse.SUPPRESS, help="YAML config file")
    ks = k.add_subparsers(dest="keys_command", required=True)

    def add(name: str, help: str) -> argparse.ArgumentParser:
        return ks.add_parser(name, parents=[common], help=help)
    c = add("create", help="create a key and print it (once)")
    c.add_argument("--name", required=True)
    c.add_argument("--project")
    _limit_args(c)
    c.add_argument("--tags", help="comma-separated")
    c.add_argument("--expires", help="ISO 8601 date or date-time (UTC)")
    c.add_argument("--admin", action="store_true", help="the key may use the admin API")
    c.add_argument("--can-create-keys", action="store_true", help="the key may create keys within its scope")
    c.add_argument("--json", action="store_true")
    ls = add("list", help="list keys (never the keys themselves)")
    ls.add_argument("--json", action="store_true")
    s = add("show", help="show one key")
    s.add_argument("id")
    r = add("revoke", help="revoke a key (and any sub-keys a non-admin key created under it)")
    r.add_argument("id")
    u = add("update", help="change a key's name, limits, models, tags or expiry")
    u.add_argument("id")
    u.add_argument("--name")
    _limit_args(u)
    u.add_argument("--tags", help="comma-separated (replaces the tags)")
    u.add_argument("--expires", help="ISO 8601 date or date-time, or 'never'")
    pr = add("project", help="create or replace a project's limits")
    pr.add_argument("name")
    _limit_args(pr)
    add("projects", help="list projects")


def _num(value: str | None, kind: type, current: Any) -> Any:
    if value is None:
        return current
    if value.lower() == "none":
        return None
    try:
        return kind(value)
    except ValueError:
        raise SystemExit(f"switchyard: not a number: {value}") from None


def _limits(args: argparse.Namespace, current: Any = None) -> LimitsIn:
    cur = current or LimitsIn()
    return LimitsIn(rpm=_num(args.rpm, int, cur.rpm), tpm=_num(args.tpm, int, cur.tpm),
                    budget_usd=_num(args.budget, float, cur.budget_usd),
                    budget_period=args.period or cur.budget_period)


def _models(value: str | None) -> list[str] | None:
    return None if value is None or value == "all" else _csv(value)


def _row(d: dict[str, Any]) -> str:
    lim = d["limits"]
    limits = ", ".join(f"{k}={lim[k]}" for k in ("rpm", "tpm", "budget_usd") if lim[k] is not None)
    if lim["budget_usd"] is not None:
        limits += f"/{lim['budget_period']}"
    models = ",".join(d["allowed_models"]) if d["allowed_models"] is not None else "*"
    admin = " admin" if d["is_admin"] else ""
    return (f"{d['id']}  {d['name']!r}  project={d['project'] or '-'}  {d['status']}{admin}  "
            f"models={models}  limits={limits or '-'}  expires={d['expires_at'] or 'never'}")


async def _run(args: argparse.Namespace, accounts: Accounts) -> int:
    from switchyard.accounts.service import ROOT

    cmd = args.keys_command
    await accounts.store.init()
    if cmd == "create":
        spec = KeyCreate(name=args.name, project=args.project, allowed_models=_models(args.models),
                         limits=_limits(args), tags=_csv(args.tags or ""), expires_at=args.expires,
                         is_admin=args.admin, can_create_keys=args.can_create_keys)
        rec, secret = await accounts.create_key(ROOT, spec)
        if args.json:
            print(json.dumps({**rec.public(), "key": secret}, indent=2))
        else:
            print(f"created {_row(rec.public())}")
            print("key (shown only this once; store it now):")
            print(secret)
    elif cmd == "list":
        keys = [r.public() for r in await accounts.list_keys(ROOT)]
        print(json.dumps(keys, indent=2) if args.json else "\n".join(_row(d) for d in keys) or "no keys")
    elif cmd == "show":
        print(json.dumps((await accounts.get_key(ROOT, args.id)).public(), indent=2))
    elif cmd == "revoke":
        rec, revoked = await accounts.revoke_key(ROOT, args.id)
        print(f"revoked {', '.join(revoked) or 'nothing (already revoked)'}")
    elif cmd == "update":
        cur = await accounts.get_key(ROOT, args.id)
        lim = cur.limits
        changes: dict[str, Any] = {}
        if any(v is not None for v in (args.rpm, args.tpm, args.budget, args.period)):
            changes["limits"] = _limits(args, LimitsIn(lim.rpm, lim.tpm, lim.budget_usd, lim.budget_period))
        if args.name is not None:
            changes["name"] = args.name
        if args.models is not None:
            changes["allowed_models"] = _models(args.models)
        if args.tags is not None:
            changes["tags"] = _csv(args.tags)
        if args.expires is not None:
            changes["expires_at"] = None if args.expires == "never" else args.expires
        rec = await accounts.update_key(ROOT, args.id, KeyPatch(**changes))
        print(f"updated {_row(rec.public())}")
    elif cmd == "project":
        p = await accounts.put_project(ROOT, ProjectIn(name=args.name, limits=_limits(args),
                                                       allowed_models=_models(args.models)))
        print(json.dumps(p.public(), indent=2))
    elif cmd == "projects":
        print(json.dumps([p.public() for p in await accounts.list_projects(ROOT)], indent=2))
    return 0


def run(args: argparse.Namespace) -> int:
    from switchyard.accounts.config import load_accounts_config
    from switchyard.accounts.service import Accounts
    from switchyard.config.load import ConfigError

    try:
        config = load_accounts_config(args.config)
    except ConfigError as e:
        print(f"switchyard: {e}", file=sys.stderr)
        return 2

    async def main() -> int:
        accounts = Accounts(config)
        try:
            return await _run(args, accounts)
        except GatewayError as e:
            print(f"switchyard: {e.message}", file=sys.stderr)
            return 1
        finally:
            await accounts.close()
    return asyncio.run(main())
