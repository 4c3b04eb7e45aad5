"""No credentials in git: every tracked file is scanned for the obvious shapes.

Connections come from Airflow connections or the environment (e.g.
``FUSION_MARKETING_DB_URL``, ``FUSION_PII_KEY``); a tracked file that holds a
password, a key or a URL with credentials in it fails this test. A made-up
credential that a test needs (to check it is masked) says so on its line with
``# fake credential``.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

SECRET_SHAPES = {
    "URL with a password": re.compile(
        r"\b[a-z][a-z0-9+]*://[^/\s:@'\"]+:(?!\{|\$|<|\*)[^@\s'\"/]+@", re.I
    ),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "password assignment": re.compile(
        r"\b(password|passwd|secret|api_key|token)\b\s*[:=]\s*['\"][^'\"\s{$<]{6,}['\"]",
        re.I,
    ),
}


def _tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    return [REPO / name.decode() for name in listed if name]


FAKE = "# fake credential"


def find_secrets(text: str) -> list[str]:
    """The kinds of credential in ``text``, lines marked as fake left out."""
    lines = "\n".join(line for line in text.splitlines() if FAKE not in line)
    return [name for name, shape in SECRET_SHAPES.items() if shape.search(lines)]


@pytest.mark.parametrize(
    "text, found",
    [
        ("url = 'postgresql://fusion:hunter22@db:5432/mkt'", ["URL with a password"]),
        ("FUSION_MARKETING_DB_URL=postgresql://fusion@127.0.0.1/mkt", []),
        ('password = "correct-horse-battery"', ["password assignment"]),
        ('password = os.environ["PW"]', []),
        ("-----BEGIN RSA PRIVATE KEY-----", ["private key"]),
        ("url = 'postgres://u:pw@db/mkt'  # fake credential", []),
    ],
)
def test_the_scanner_finds_the_shapes_it_names(text, found):
    assert find_secrets(text) == found


def test_no_tracked_file_holds_a_credential():
    hits = []
    for path in _tracked_files():
        if path == Path(__file__) or not path.is_file():
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        hits += [f"{path.relative_to(REPO)}: {name}" for name in find_secrets(text)]
    assert not hits, "credentials in git:\n" + "\n".join(hits)
