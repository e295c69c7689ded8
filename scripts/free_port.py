"""Prints a TCP port on 127.0.0.1 that is free now, for the throwaway test services
(scripts/test-postgres.sh, scripts/test-slurm.sh). Another process may take it before the caller
binds it: callers retry."""

import socket

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
