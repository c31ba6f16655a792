"""The settings of a run: read once from the environment and the config file, with
the documented precedence (options, then environment, then config file, then defaults)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.config import PRIVATE_UMASK, Settings, parse_umask
from assistant.errors import UsageError
from assistant.frontends.cli import main
from assistant.query.llm import LLMConfig


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(tmp_path / "home"), "ASSISTANT_USER_DIR": str(tmp_path / "u"), **extra}


def test_every_variable_is_read_into_its_setting(tmp_path):
    settings = Settings.load(
        _env(
            tmp_path,
            ASSISTANT_INDEX=" news ",
            ASSISTANT_SEEDS="~/seeds",
            ASSISTANT_CACHE_DIR=str(tmp_path / "cache"),
            ASSISTANT_EXPORT_DIR=str(tmp_path / "out"),
            ASSISTANT_PROMPTS=str(tmp_path / "prompts"),
            ASSISTANT_CONFIG=str(tmp_path / "c.toml"),
            ASSISTANT_UMASK="022",
            ASSISTANT_DEBUG="1",
            ASSISTANT_API_TOKEN="api",
            ASSISTANT_MILVUS_TOKEN="milvus",
            ASSISTANT_LLM_URL="http://env:1",
            ASSISTANT_LLM_TIMEOUT="7",
            OPENAI_API_KEY="sk",
            ASSISTANT_FAULT_POINT="commit",
            ASSISTANT_FAULT_MARKER=str(tmp_path / "marker"),
        )
    )
    assert settings.user_dir == tmp_path / "u"
    assert settings.collections_dir == tmp_path / "u" / "indexes"
    assert settings.history_dir == tmp_path / "u" / "history"
    assert settings.index == "news"
    assert settings.seeds_dir == Path("~/seeds").expanduser()
    assert settings.cache_dir == tmp_path / "cache"
    assert settings.export_dir == tmp_path / "out"
    assert settings.prompts_dir == tmp_path / "prompts"
    assert settings.config_path == tmp_path / "c.toml"
    assert settings.umask == 0o022
    assert settings.debug
    assert settings.http_token() == "api"
    assert settings.milvus_token() == "milvus"
    assert settings.openai_api_key == "sk"
    assert dict(settings.llm_environment) == {"url": "http://env:1", "timeout": "7"}
    assert (settings.fault_point, settings.fault_marker) == ("commit", str(tmp_path / "marker"))
    assert "api" not in repr(settings) and "milvus" not in repr(settings)


def test_defaults_follow_the_xdg_directories(tmp_path):
    settings = Settings.load(
        _env(tmp_path, XDG_CACHE_HOME=str(tmp_path / "xc"), XDG_CONFIG_HOME=str(tmp_path / "xg"))
    )
    assert settings.cache_dir == tmp_path / "xc" / "assistant"
    assert settings.config_path == tmp_path / "xg" / "assistant" / "config.toml"
    bare = Settings.load({"HOME": str(tmp_path), "ASSISTANT_USER_DIR": "/u"})
    assert bare.index is None and bare.export_dir is None and not bare.debug
    assert bare.umask == PRIVATE_UMASK and bare.http_token() is None


@pytest.mark.parametrize(
    ("text", "mask"), [("022", 0o022), (" 027 ", 0o027), ("", 0o077), ("rw-r--r--", 0o077)]
)
def test_a_umask_typo_keeps_the_files_private(text, mask):
    assert parse_umask(text) == mask


def test_a_blank_api_token_is_refused_not_taken_as_none(tmp_path):
    settings = Settings.load(_env(tmp_path, ASSISTANT_API_TOKEN="  "))
    with pytest.raises(UsageError, match="ASSISTANT_API_TOKEN is set but empty"):
        settings.http_token()
    assert Settings.load(_env(tmp_path, ASSISTANT_API_TOKEN=" t ")).http_token() == "t"


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_the_environment_wins_over_the_config_file_and_options_over_both(tmp_path):
    path = _config(
        tmp_path,
        '[llm]\nurl = "http://file:1"\nmodel = "file-model"\ncontext_window = 2048\n'
        '[milvus]\ntoken = "file-token"\n',
    )
    env = _env(tmp_path, ASSISTANT_CONFIG=str(path), ASSISTANT_LLM_MODEL="env-model")
    settings = Settings.load(env)
    config = LLMConfig.resolve(settings)
    assert (config.url, config.model, config.context_window) == (
        "http://file:1/v1",
        "env-model",
        2048,
    )
    assert LLMConfig.resolve(settings, model="option-model").model == "option-model"
    assert settings.milvus_token() == "file-token"
    env["ASSISTANT_MILVUS_TOKEN"] = "env-token"
    assert Settings.load(env).milvus_token() == "env-token"


def test_the_config_file_is_read_once_per_run(tmp_path):
    path = _config(tmp_path, '[llm]\nurl = "http://file:1"\n[milvus]\ntoken = "t"\n')
    settings = Settings.load(_env(tmp_path, ASSISTANT_CONFIG=str(path)))
    assert LLMConfig.resolve(settings).url == "http://file:1/v1"
    path.unlink()  # what was read stays the run's settings
    assert settings.milvus_token() == "t"
    assert LLMConfig.resolve(settings).url == "http://file:1/v1"


def test_an_unreadable_config_file_fails_only_what_needs_it(tmp_path):
    path = _config(tmp_path, "[llm\nurl = ")
    settings = Settings.load(_env(tmp_path, ASSISTANT_CONFIG=str(path)))
    assert settings.user_dir == tmp_path / "u"  # loading itself does not fail
    with pytest.raises(UsageError, match=f"cannot read the config file {path}"):
        LLMConfig.resolve(settings)
    with pytest.raises(UsageError, match=f"cannot read the config file {path}"):
        settings.milvus_token()
    assert (
        Settings.load(
            _env(tmp_path, ASSISTANT_CONFIG=str(path), ASSISTANT_MILVUS_TOKEN="x")
        ).milvus_token()
        == "x"
    )  # the environment's token needs no file


def test_a_table_that_is_not_a_table_is_named(tmp_path):
    path = _config(tmp_path, 'llm = "http://x"\n')
    with pytest.raises(UsageError, match=r"\[llm\] must be a table"):
        LLMConfig.resolve(Settings.load(_env(tmp_path, ASSISTANT_CONFIG=str(path))))


def test_the_command_line_reads_the_settings_once(tmp_path, monkeypatch):
    calls = []
    load = Settings.load.__func__

    def counted(cls, environ=None):
        calls.append(environ)
        return load(cls, environ)

    monkeypatch.setattr(Settings, "load", classmethod(counted))
    monkeypatch.setenv("ASSISTANT_USER_DIR", str(tmp_path / "user"))
    result = CliRunner().invoke(main, ["index", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert len(calls) == 1 and calls[0] is os.environ
    assert str(tmp_path / "user" / "indexes") in result.stdout
