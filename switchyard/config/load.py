"""Load the configuration: one YAML file with ``${VAR}`` / ``${VAR:-default}`` interpolation, or, with
no file, every known provider whose conventional key variable is set."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import msgspec
import yaml

from switchyard.config.model import Config, ProviderConfig
from switchyard.providers.known import KNOWN_PROVIDERS, KnownProvider

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(ValueError):
    pass


def _interpolate(value: Any, env: Mapping[str, str], where: str) -> Any:
    if isinstance(value, str):
        def sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if default is not None:  # as in the shell: unset or empty takes the default
                return env.get(name) or default
            if name in env:
                return env[name]
            raise ConfigError(f"{where}: environment variable {name} is not set")
        return _VAR.sub(sub, value)
    if isinstance(value, dict):
        return {k: _interpolate(v, env, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def _provider(slug: str, raw: dict[str, Any], env: Mapping[str, str]) -> ProviderConfig:
    known = KNOWN_PROVIDERS.get(slug)
    data = dict(raw)
    data["slug"] = slug
    if known is not None:
        data.setdefault("protocol", known.protocol)
        data.setdefault("base_url", (env.get(known.base_url_env) if known.base_url_env else None)
                        or known.base_url)
        if "api_key" not in data:
            key = next((env[k] for k in known.key_env if env.get(k)), None)
            if key:
                data["api_key"] = key
        options = dict(data.get("options") or {})
        for option, names in known.options_env.items():
            if option not in options:
                value = next((env[n] for n in names if env.get(n)), None)
                if value is not None:
                    options[option] = value
        data["options"] = options
    if "protocol" not in data or "base_url" not in data:
        raise ConfigError(f"providers.{slug}: 'protocol' and 'base_url' are required for a provider "
                          f"Switchyard does not know by name")
    try:
        # strict=False: values interpolated from variables are strings ("30" for a timeout).
        return msgspec.convert(data, ProviderConfig, strict=False)
    except msgspec.ValidationError as e:
        raise ConfigError(f"providers.{slug}: {e}") from None


def _enabled_by_env(known: KnownProvider, env: Mapping[str, str]) -> bool:
    if known.requires:
        return any(all(env.get(name) for name in group) for group in known.requires)
    return any(env.get(name) for name in known.key_env)


def providers_from_env(env: Mapping[str, str]) -> dict[str, ProviderConfig]:
    return {slug: _provider(slug, {}, env) for slug, known in KNOWN_PROVIDERS.items()
            if _enabled_by_env(known, env)}


def load_config(path: str | None = None, env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    if path is None:
        return Config(providers=providers_from_env(env))
    try:
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f) or {}
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"config file {path} is not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {path}: the top level must be a mapping")
    raw = _interpolate(raw, env, "config")
    providers_raw = raw.pop("providers", None) or {}
    if not isinstance(providers_raw, dict):
        raise ConfigError("providers: must be a mapping of slug to provider settings")
    providers = {slug: _provider(slug, p or {}, env) for slug, p in providers_raw.items()}
    try:
        config = msgspec.convert(raw, Config, strict=False)
    except msgspec.ValidationError as e:
        raise ConfigError(f"config file {path}: {e}") from None
    return msgspec.structs.replace(config, providers=providers)
