"""Camera URLs: the scheme each camera kind accepts, and credentials masked wherever a URL is shown.

FFmpeg opens whatever protocol a URL names (http, tcp, concat, subfile, data, ...), so a cameras file could
make the adapter fetch from anywhere or read any local file through a protocol; each kind accepts only its own
schemes. RTSP URLs often carry a password (`rtsp://user:password@host/...`): it stays out of logs and status
records.
"""

from __future__ import annotations

import logging
import re

# FFmpeg reads a protocol name from what precedes the first ':', options after a ',' (`subfile,,start,0:...`);
# with a '/' before the ':' it is a path.
_FFMPEG_PROTOCOL = re.compile(r"^([^:/]+):")
# scheme://userinfo@ where userinfo runs to the authority's last '@' (a password may hold an unencoded '@').
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/\s]*)@")
MASK = "***"


def url_scheme(url: str) -> str:
    """The protocol FFmpeg would use for `url`, lower case; "" for a plain path."""
    match = _FFMPEG_PROTOCOL.match(url)
    return match.group(1).split(",", 1)[0].lower() if match else ""


def _masked(match: re.Match[str]) -> str:
    user, has_password, _ = match.group("userinfo").partition(":")
    # Without a password the user part may itself be a token: mask it whole.
    return f"{match.group('scheme')}{user}:{MASK}@" if has_password else f"{match.group('scheme')}{MASK}@"


def mask_credentials(text: str) -> str:
    """`text` with the userinfo of every URL in it masked: rtsp://user:***@host/..."""
    return _USERINFO.sub(_masked, text)


class MaskCredentials(logging.Filter):
    """Masks URL credentials in a logger's messages and tracebacks (an FFmpeg error names the URL it opened)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_credentials(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_credentials(logging.Formatter().formatException(record.exc_info))
        return True
