"""Server log lines are written once: Django's own console handler and the root's do not both print them."""

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

from django.conf import settings

from tests.helpers import database_url, free_port


def test_runserver_logs_a_404_and_its_request_line_once_each(db):
    """With DEBUG on (as scripts/run.sh serves), a warning and a request line each appear exactly once."""
    port = free_port()
    env = {**os.environ, "DEBUG": "1", "DATABASE_URL": database_url()}
    env.pop("RELAY_PRODUCTION", None)
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", "--skip-checks", f"127.0.0.1:{port}"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/no-such-page/", timeout=5)
            except urllib.error.HTTPError as error:
                assert error.code == 404
                break
            except OSError:
                assert time.monotonic() < deadline, "runserver did not start"
                assert server.poll() is None, server.stdout.read()
                time.sleep(0.2)
        time.sleep(0.5)  # the request line is written after the answer
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=10)
    assert output.count("Not Found: /no-such-page/") == 1, output
    assert output.count('"GET /no-such-page/ HTTP/1.1" 404') == 1, output
