"""Loading the configuration: YAML with ${VAR} interpolation, or providers from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchyard.config.load import ConfigError, load_config, providers_from_env
from switchyard.config.model import Config, ProviderConfig, Timeouts

SECRET = "sk-proj-SECRETSECRETSECRET0123456789"


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "switchyard.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


# ---- interpolation ----

def test_var_and_default(tmp_path: Path) -> None:
    path = write(tmp_path, """
server:
  host: ${HOST:-0.0.0.0}
providers:
  openai:
    api_key: ${MY_OPENAI_KEY}
    headers:
      OpenAI-Organization: org-${ORG:-none}
      X-Both: "${A}-${B:-b}"
""")
    cfg = load_config(path, {"MY_OPENAI_KEY": SECRET, "A": "a"})
    assert cfg.server.host == "0.0.0.0"
    p = cfg.providers["openai"]
    assert p.api_key == SECRET
    assert p.headers == {"OpenAI-Organization": "org-none", "X-Both": "a-b"}
    cfg = load_config(path, {"MY_OPENAI_KEY": SECRET, "A": "a", "HOST": "10.0.0.1", "ORG": "acme", "B": "B"})
    assert cfg.server.host == "10.0.0.1"
    assert cfg.providers["openai"].headers == {"OpenAI-Organization": "org-acme", "X-Both": "a-B"}


def test_default_also_applies_to_an_empty_variable(tmp_path: Path) -> None:
    # ${VAR:-default} as in the shell and docker compose: unset *or empty* takes the default
    path = write(tmp_path, "server:\n  host: ${HOST:-127.0.0.2}\n")
    assert load_config(path, {"HOST": ""}).server.host == "127.0.0.2"


def test_empty_variable_without_default_is_empty(tmp_path: Path) -> None:
    path = write(tmp_path, "providers:\n  myllm:\n    protocol: openai-chat\n    base_url: http://x/v1\n"
                           "    api_key: \"${KEY}\"\n")
    assert load_config(path, {"KEY": ""}).providers["myllm"].api_key == ""


def test_unset_variable_names_the_path(tmp_path: Path) -> None:
    path = write(tmp_path, "providers:\n  openai:\n    api_key: ${MISSING_KEY}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    msg = str(info.value)
    assert "MISSING_KEY" in msg
    assert "config.providers.openai.api_key" in msg


def test_unset_variable_in_a_list_names_the_index(tmp_path: Path) -> None:
    path = write(tmp_path, "routing:\n  fallbacks:\n    openai/gpt-4o: [a/b, '${FB}']\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert "config.routing.fallbacks.openai/gpt-4o[1]" in str(info.value)


def test_numbers_from_variables(tmp_path: Path) -> None:
    path = write(tmp_path, """
server:
  port: ${PORT:-8787}
  workers: ${WORKERS}
providers:
  openai:
    timeouts:
      first_byte: ${FIRST_BYTE:-30}
""")
    cfg = load_config(path, {"WORKERS": "4", "OPENAI_API_KEY": "k"})
    assert cfg.server.port == 8787
    assert cfg.server.workers == 4
    assert cfg.providers["openai"].timeouts.first_byte == 30.0


def test_dollar_without_braces_is_literal(tmp_path: Path) -> None:
    path = write(tmp_path, "providers:\n  openai:\n    api_key: pa$$word$HOME\n")
    assert load_config(path, {"HOME": "/root"}).providers["openai"].api_key == "pa$$word$HOME"


# ---- no file: providers from the environment ----

def test_no_file_enables_providers_with_keys() -> None:
    env = {"OPENAI_API_KEY": "sk-openai", "ANTHROPIC_API_KEY": "sk-ant", "GROQ_API_KEY": "gsk_1",
           "GROQ_BASE_URL": "http://localhost:9999/openai/v1", "MISTRAL_API_KEY": ""}
    cfg = load_config(None, env)
    assert set(cfg.providers) == {"openai", "anthropic", "groq"}
    openai, anthropic, groq = cfg.providers["openai"], cfg.providers["anthropic"], cfg.providers["groq"]
    assert (openai.protocol, openai.base_url, openai.api_key) == ("openai-chat", "https://api.openai.com/v1",
                                                                  "sk-openai")
    assert (anthropic.protocol, anthropic.base_url, anthropic.api_key) == (
        "anthropic-messages", "https://api.anthropic.com", "sk-ant")
    assert (groq.protocol, groq.base_url, groq.api_key) == ("openai-chat", "http://localhost:9999/openai/v1",
                                                            "gsk_1")
    assert openai.slug == "openai"
    assert cfg.server == Config().server
    assert cfg.routing == Config().routing


def test_no_file_and_no_keys() -> None:
    assert load_config(None, {}).providers == {}
    assert providers_from_env({"PATH": "/usr/bin", "OPENAI_BASE_URL": "http://x"}) == {}


def test_base_url_override_for_openai_and_anthropic() -> None:
    cfg = load_config(None, {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "http://127.0.0.1:8000/v1",
                             "ANTHROPIC_API_KEY": "k2", "ANTHROPIC_BASE_URL": "http://127.0.0.1:8001"})
    assert cfg.providers["openai"].base_url == "http://127.0.0.1:8000/v1"
    assert cfg.providers["anthropic"].base_url == "http://127.0.0.1:8001"


# ---- the file ----

def test_known_slug_defaults_in_a_file(tmp_path: Path) -> None:
    path = write(tmp_path, """
providers:
  openai: {}
  groq:
    base_url: https://groq.internal/openai/v1
  deepseek:
server:
  port: 9000
routing:
  order:
    "*": [groq, openai]
  fallbacks:
    openai/gpt-4o: [anthropic/claude-sonnet-4]
  max_attempts: 3
models:
  acme/model:
    providers:
      openai: {id: acme-model}
""")
    cfg = load_config(path, {"OPENAI_API_KEY": "sk-env", "GROQ_API_KEY": "gsk-env",
                             "GROQ_BASE_URL": "http://ignored-when-file-sets-it"})
    openai = cfg.providers["openai"]
    assert (openai.protocol, openai.base_url, openai.api_key) == ("openai-chat", "https://api.openai.com/v1",
                                                                  "sk-env")
    groq = cfg.providers["groq"]
    assert groq.base_url == "https://groq.internal/openai/v1"
    assert groq.api_key == "gsk-env"
    deepseek = cfg.providers["deepseek"]
    assert deepseek.base_url == "https://api.deepseek.com/v1" and deepseek.api_key is None
    assert cfg.server.port == 9000
    assert cfg.routing.order == {"*": ["groq", "openai"]}
    assert cfg.routing.fallbacks == {"openai/gpt-4o": ["anthropic/claude-sonnet-4"]}
    assert cfg.routing.max_attempts == 3
    assert cfg.models == {"acme/model": {"providers": {"openai": {"id": "acme-model"}}}}


def test_file_key_wins_over_env(tmp_path: Path) -> None:
    path = write(tmp_path, "providers:\n  openai:\n    api_key: from-file\n")
    assert load_config(path, {"OPENAI_API_KEY": "from-env"}).providers["openai"].api_key == "from-file"


def test_file_lists_only_its_providers(tmp_path: Path) -> None:
    path = write(tmp_path, "providers:\n  openai: {}\n")
    cfg = load_config(path, {"OPENAI_API_KEY": "k", "ANTHROPIC_API_KEY": "k2"})
    assert set(cfg.providers) == {"openai"}


def test_custom_provider(tmp_path: Path) -> None:
    path = write(tmp_path, """
providers:
  local-vllm:
    protocol: openai-chat
    base_url: http://10.0.0.5:8000/v1
    timeouts: {connect: 2, first_byte: 30, total: 120}
    options: {x: 1}
""")
    p = load_config(path, {}).providers["local-vllm"]
    assert p == ProviderConfig(slug="local-vllm", protocol="openai-chat", base_url="http://10.0.0.5:8000/v1",
                               timeouts=Timeouts(2, 30, 120), options={"x": 1})


@pytest.mark.parametrize("body", [
    "providers:\n  myllm:\n    base_url: http://x/v1\n",
    "providers:\n  myllm:\n    protocol: openai-chat\n",
    "providers:\n  myllm: {}\n",
])
def test_unknown_slug_needs_protocol_and_base_url(tmp_path: Path, body: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, body), {})
    assert "providers.myllm" in str(info.value)
    assert "protocol" in str(info.value) and "base_url" in str(info.value)


def test_invalid_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "providers:\n  openai: [unclosed\n  bad: : :\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, {})
    assert "not valid YAML" in str(info.value)


@pytest.mark.parametrize("body", ["- a\n- b\n", "just a string\n", "42\n"])
def test_top_level_must_be_a_mapping(tmp_path: Path, body: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, body), {})
    assert "mapping" in str(info.value)


def test_empty_file_is_the_default_config(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, ""), {"OPENAI_API_KEY": "k"}) == Config()


def test_providers_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "providers: [openai]\n"), {})
    assert "providers" in str(info.value)


def test_missing_file() -> None:
    with pytest.raises(ConfigError) as info:
        load_config("/nonexistent/dir/switchyard.yaml", {})
    assert "cannot read config file" in str(info.value)


@pytest.mark.parametrize("body,where", [
    ("server:\n  port: not-a-port\n", "server.port"),
    ("routing:\n  max_attempts: [1]\n", "routing.max_attempts"),
    ("providers:\n  openai:\n    timeouts: {connect: soon}\n", "providers.openai"),
    ("providers:\n  openai:\n    headers: [a]\n", "providers.openai"),
])
def test_wrong_types(tmp_path: Path, body: str, where: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, body), {"OPENAI_API_KEY": "k"})
    assert where in str(info.value)


# ---- secrets ----

def test_provider_config_repr_never_contains_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, "providers:\n  openai:\n    api_key: ${KEY}\n    headers: {x-trace: t}\n")
    cfg = load_config(path, {"KEY": SECRET})
    p = cfg.providers["openai"]
    assert p.api_key == SECRET
    for text in (repr(p), str(p), f"{p}", repr(cfg.providers), repr([p])):
        assert SECRET not in text
        assert "openai" in text


def test_config_error_never_contains_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, "providers:\n  openai:\n    api_key: ${KEY}\n    timeouts: {connect: soon}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, {"KEY": SECRET})
    assert SECRET not in str(info.value)
