"""gunicorn's settings file for Relay (`gunicorn -c config/gunicorn_conf.py config.wsgi:application ...`).

Only the hook `/metrics` needs in multiprocess mode (config/metrics.py): when a worker exits, its files in
`PROMETHEUS_MULTIPROC_DIR` stop counting towards the gauges of live processes (open streams). Its counters and
histograms stay: totals do not go down when a worker restarts.
"""

import os


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
