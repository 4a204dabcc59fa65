"""Debian's side of a rootfs build: the mirror check, the archive keyring's path, versions."""

from __future__ import annotations

import urllib.error
import urllib.request

from ..errors import FwenvError

DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


def check_mirror(mirror: str, suite: str, timeout: float = 15.0) -> None:
    """Fail fast, in one line, when the Debian mirror does not answer for this suite."""
    url = f"{mirror}/dists/{suite}/InRelease"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (http(s) checked)
            r.read(1)
    except urllib.error.HTTPError as e:
        raise FwenvError(f"Debian mirror {mirror} has no suite {suite!r} ({e.code} on {url}): "
                         "check --suite / --snapshot") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise FwenvError(f"Debian mirror {mirror} unreachable ({reason}): check the network "
                         "or pass --mirror URL") from None


def _upstream(debian_version: str) -> str:
    """1.5.0-1 → 1.5.0; 2:1.2-3 → 1.2."""
    v = debian_version.split(":", 1)[-1]
    return v.rsplit("-", 1)[0] if "-" in v else v
