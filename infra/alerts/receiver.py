"""The webhook receiver Alertmanager notifies: `python -m infra.alerts.receiver --port P --out FILE`.
Each POSTed notification's alerts are appended to FILE as JSON lines (notifications.py)."""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from infra.alerts.notifications import append_records, records_of

logger = logging.getLogger(__name__)


class AlertReceiver(ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], out: Path, max_bytes: int | None = None) -> None:
        super().__init__(address, _Handler)
        self.out = out
        self.max_bytes = max_bytes  # disk cap of the notifications file
        self.write_lock = threading.Lock()  # whole lines from concurrent notifications


class _Handler(BaseHTTPRequestHandler):
    server: AlertReceiver

    def do_POST(self) -> None:
        try:
            payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        except ValueError as error:
            self.send_error(400, f"not a JSON notification: {error}")
            return
        records = records_of(payload, received_at=time.time())
        with self.server.write_lock:
            append_records(self.server.out, records, self.server.max_bytes)
        for record in records:
            logger.info("%s %s: %s", record.status, record.alertname, record.summary)
        self.send_response(200)
        self.end_headers()

    def do_GET(self) -> None:
        """Health check: the stack waits for a 200 here."""
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # one line per alert above; http.server's access lines would repeat it


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
    parser.add_argument("--port", type=int, required=True, help="Port to listen on.")
    parser.add_argument("--out", type=Path, required=True, help="JSON-lines file the alerts are appended to.")
    parser.add_argument("--max-bytes", type=int, default=None,
                        help="Disk cap of that file: beyond it the oldest lines go (default: none).")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    server = AlertReceiver((args.host, args.port), args.out, args.max_bytes)
    logger.info("recording alert notifications from http://%s:%d to %s", args.host, args.port, args.out)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
