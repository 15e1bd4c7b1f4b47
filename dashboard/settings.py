"""Settings as one declarative table: name, default, help. Read from the environment at the edge."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SETTINGS", "Setting", "get", "repo_root"]


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting("AIMS_DB", str(repo_root() / "data" / "aims.duckdb"),
            "Path of the DuckDB database file; created on first use."),
    Setting("AIMS_LOCK_WAIT_SECONDS", "30",
            "How long a command waits for another process (e.g. a running dashboard) to release the database file."),
    Setting("AIMS_MAX_UPLOAD_MB", "25", "Largest spreadsheet or CSV file accepted for import, in megabytes."),
    Setting("AIMS_USER", "", "Name recorded in the change log for command-line changes (defaults to the login name)."),
    # sign-in and roles (dashboard/access.py)
    Setting("AIMS_ADMINS", "",
            "Emails (comma separated) of the people who are administrators when they sign in, whatever the "
            "database says: the first administrators of a deployment."),
    Setting("AIMS_REQUIRE_LOGIN", "false",
            "'true' refuses to serve anything unless sign-in ([auth] in .streamlit/secrets.toml) is configured."),
    Setting("AIMS_GROUP_CLAIM", "groups", "The claim of the provider's identity token that lists a person's groups."),
    Setting("AIMS_ROLE_GROUPS", "",
            "Groups of that claim mapped to an organisation-wide role, e.g. 'aims-admins=administrator, "
            "aims-leads=lead, aims-board=viewer'. Unit assessors are assigned on the Access page."),
    Setting("AIMS_PAUSE_MINUTES", "15",
            "Time spent answering (dashboard/timing.py): a gap between two answers longer than this many minutes is "
            "a pause, not counted in the active time of an assessment."),
    Setting("AIMS_DRAFT_COMPLETENESS", "80",
            "Management views (Overview, Presentation, report, executive summary) mark a draft round whose "
            "completeness is below this percentage as provisional, naming the unit, instead of presenting it as a "
            "full result."),
    # the AI helper (dashboard/llm.py); with no model set everything runs offline and nothing reaches the network
    Setting("AIMS_LLM_MODEL", "",
            "Model for summaries and the interview, in litellm's form: openai/gpt-4o-mini, azure/<deployment>, "
            "anthropic/<model>, ollama/llama3.1. Empty: offline (extractive summaries, no proposals)."),
    Setting("AIMS_LLM_API_BASE", "",
            "Endpoint of a local or company server speaking the OpenAI protocol, e.g. http://127.0.0.1:11434/v1 "
            "(use it with an openai/<name> model). Empty: the provider's usual endpoint."),
    Setting("AIMS_LLM_API_KEY", "",
            "Key for that endpoint, if it needs one. Otherwise the provider's usual variable is used "
            "(OPENAI_API_KEY, ANTHROPIC_API_KEY, AZURE_API_KEY, …, also as top-level Streamlit secrets). "
            "Never stored, logged or exported.", secret=True),
    Setting("AIMS_LLM_TIMEOUT", "60", "Seconds to wait for one answer from the model before giving up on that attempt."),
    Setting("AIMS_LLM_RETRIES", "1",
            "Further attempts after a timeout, a rate limit (429) or a server error (5xx); then the offline result is shown."),
    Setting("AIMS_LLM_REDACT", "true",
            "Replace emails, phone numbers, IBAN/card numbers and URLs with credentials by placeholders before "
            "sending text to any model (restored in the result). 'false' sends text as written."),
    Setting("AIMS_LLM_ALLOW_REMOTE", "true",
            "'false' refuses every provider outside this machine (only 127.0.0.1, localhost, ::1 or ollama/ "
            "without an endpoint are used). Remote providers need a confirmation once per browser session."),
    Setting("AIMS_LLM_CONTEXT_TOKENS", "",
            "The model's context window in tokens. Empty: asked of the server (vLLM, llama.cpp's llama-server), else "
            "litellm's model list, else 4096 assumed. Set it for llama-cpp-python's server (its --n_ctx)."),
    Setting("AIMS_LLM_MAX_INPUT_CHARS", "",
            "Most characters of free text in one summary request. Empty: as much as the context window leaves after "
            "the task, the figures and the reply; above it, responses are chosen evenly across units."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def get(name: str) -> str:
    """The value of a setting: the environment if set and non-empty, else the default."""
    setting = _BY_NAME[name]
    value = os.environ.get(name, "").strip()
    return value or setting.default
