"""`python -m infra.procfile_runner start ...`: honcho, with a grace period before SIGKILL that is a setting.

honcho sends SIGKILL to every process still running 5 s after the first one stopped (`honcho.manager.KILL_WAIT`,
no command-line option). On a loaded 2-core machine a worker committing its last transaction, or a Faust app
flushing its tables, needs longer, and a SIGKILL there costs the clean stop the demo promises.
"""

from __future__ import annotations

import os
import sys

STOP_GRACE_ENV = "ACTIONSTREAM_PROCFILE_STOP_GRACE_S"
DEFAULT_STOP_GRACE_S = 25.0


def run(argv: list[str]) -> None:
    # Imported here: honcho.command configures the root logger when imported, which would give every process that
    # imports this module (the demo reads STOP_GRACE_ENV) honcho's log format instead of ours.
    import honcho.manager
    from honcho.command import main

    honcho.manager.KILL_WAIT = float(os.environ.get(STOP_GRACE_ENV, DEFAULT_STOP_GRACE_S))
    main(argv)


if __name__ == "__main__":
    run(sys.argv[1:])
