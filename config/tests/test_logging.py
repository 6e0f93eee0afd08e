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


def test_the_json_format_is_one_object_a_line_with_the_request_id_and_the_exception():
    """config.logging.JsonFormatter behind the request-id filter, as LOG_FORMAT=json configures the handlers."""
    import io
    import json
    import logging

    from config.logging import JsonFormatter
    from config.request_ids import RequestIdFilter, current_request_id

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("relay.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("outside a request")
        token = current_request_id.set("req-1")
        try:
            try:
                raise ValueError("two\nlines")
            except ValueError:
                logger.exception("failed for %s", "alice")
        finally:
            current_request_id.reset(token)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2, lines
    first, second = (json.loads(line) for line in lines)
    assert set(first) == {"time", "level", "logger", "message"}
    assert first["level"] == "WARNING" and first["logger"] == "relay.test.json"
    assert first["time"].endswith("+00:00")
    assert second["message"] == "failed for alice" and second["level"] == "ERROR"
    assert second["request_id"] == "req-1"
    assert 'raise ValueError("two\\nlines")' in second["exception"]
    assert second["exception"].endswith("ValueError: two\nlines")


def test_log_format_is_plain_by_default_and_refuses_an_unknown_value():
    assert settings.LOG_FORMAT == "plain"
    assert settings.LOGGING["handlers"]["console"]["formatter"] == "plain"
    env = {**os.environ, "LOG_FORMAT": "xml"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=settings.BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "LOG_FORMAT must be plain or json, not 'xml'" in result.stderr
