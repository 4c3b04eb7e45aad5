"""Pseudonymisation of customer PII with a keyed MAC (HMAC-SHA256).

A plain hash of an e-mail is re-identifiable by dictionary; a keyed MAC is
not without the key, which lives apart from the data: ``FUSION_PII_KEY``, or
for the demo market only a key file created once under ``<FUSION_HOME>/secrets/``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import pandas as pd

from pipeline import io


class MissingKeyError(RuntimeError):
    """No pseudonymisation key outside the demo: PII must not be extracted."""


def pii_key(settings) -> bytes:
    """The MAC key: the setting if given, else (demo market only) a key file.

    Outside the demo (no ``sim/market.json`` under the home) a missing key is
    an error: a key made up on the spot would change every pseudonym.
    """
    if settings.pii_key:
        return settings.pii_key.encode()
    if not (Path(settings.fusion_home) / "sim" / "market.json").exists():
        raise MissingKeyError(
            "no PII key: set FUSION_PII_KEY (e.g. from your secrets manager or an "
            "Airflow connection's password exported to the task environment); "
            "customer e-mails and names cannot be extracted without it."
        )
    path = Path(settings.fusion_home) / "secrets" / "pii.key"
    if not path.exists():
        io.write_text(secrets.token_hex(32), path)
        os.chmod(path, 0o600)
    return path.read_text().strip().encode()


def pseudonymise(values: pd.Series, key: bytes) -> pd.Series:
    """HMAC-SHA256 hex digest of each normalised value; nulls stay null."""

    def mac(v):
        if v is None or (isinstance(v, float) and pd.isna(v)):
            return None
        norm = str(v).strip().lower().encode()
        return hmac.new(key, norm, hashlib.sha256).hexdigest()

    return values.map(mac)
