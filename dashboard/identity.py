"""Who is making a change: the one place that answers it, so that real sign-in can replace it later.

Until sign-in exists, the assessor types a name once per browser session (see `ui.identity_box`);
`dashboard.ui` installs the provider that reads it. The command line uses `AIMS_USER` or the login name.
A provider backed by `st.user` (OIDC sign-in) would be installed the same way.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["clean_name", "current_user", "set_provider"]

_provider: Callable[[], str | None] = lambda: None  # noqa: E731 - replaced by dashboard.ui


def set_provider(provider: Callable[[], str | None]) -> None:
    """Install the function that returns the signed-in (or self-declared) person's name."""
    global _provider
    _provider = provider


def current_user() -> str | None:
    """The name recorded with every change, or None when nobody has said who they are."""
    return clean_name(_provider())


def clean_name(name: str | None) -> str | None:
    """A display name: trimmed, inner spaces folded, at most 80 characters; None when blank."""
    if not name:
        return None
    cleaned = " ".join(str(name).split())[:80]
    return cleaned or None
