"""librdkafka properties files (`key=value` lines, as read by `kcat -F FILE`): how a site or a platform process
is handed its connection and credentials without putting the password on a command line."""

from __future__ import annotations

import os
import re
from pathlib import Path

# Only the owner may read a file that holds a password.
_OWNER_ONLY = 0o600
# librdkafka keys are lowercase dotted names; anything else is a broken line (maybe a stray password).
_KEY = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")


class PropertiesFileError(Exception):
    """Not a ValueError on purpose: pydantic would wrap it in a ValidationError that quotes the settings' input,
    password included."""


def read_properties(path: Path) -> dict[str, str]:
    properties: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, separator, value = line.partition("=")
        if not separator or not _KEY.match(key.strip()):
            # The line itself may hold a secret: name the place, never the content.
            raise PropertiesFileError(f"{path}:{number}: not a key=value line")
        properties[key.strip()] = value.strip()
    return properties


def write_properties(path: Path, properties: dict[str, str], comment: str) -> None:
    """Write the file readable by its owner only; created with that mode, so no other user can read it early."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = f"# {comment}\n" + "".join(f"{key}={value}\n" for key, value in properties.items())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _OWNER_ONLY)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    path.chmod(_OWNER_ONLY)  # an existing file keeps its old mode through os.open
