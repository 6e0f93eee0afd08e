"""EMAIL_URL: the password-reset mail goes to a real SMTP server (a small one in this test) when it is set,
and a wrong URL stops the start with a clear message. Each case starts Django in a process of its own, as
the settings are read once at start.
"""

import json
import os
import socketserver
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]


def django_process(code: str, **env: str) -> subprocess.CompletedProcess:
    script = f"import django; django.setup()\n{code}"
    environ = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env}
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=60
    )


class SMTPSink(socketserver.StreamRequestHandler):
    """Just enough SMTP to take one message: what a mail server says, and the DATA it was sent."""

    received: list[str]

    def handle(self):
        self.wfile.write(b"220 sink ESMTP\r\n")
        while line := self.rfile.readline():
            verb = line.decode().strip().split(" ")[0].upper()
            if verb == "DATA":
                self.wfile.write(b"354 go on\r\n")
                body = []
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    body.append(data.decode())
                self.received.append("".join(body))
                self.wfile.write(b"250 queued\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp_server():
    class Handler(SMTPSink):
        received: list[str] = []

    port = free_port()
    server = socketserver.ThreadingTCPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield port, Handler.received
    server.shutdown()
    server.server_close()


def test_with_email_url_the_password_reset_mail_goes_to_that_smtp_server(smtp_server):
    port, received = smtp_server
    sent = django_process(
        "from django.core.mail import send_mail\n"
        "send_mail('Password reset on Relay', 'Follow the link', None, ['alice@example.com'])",
        EMAIL_URL=f"smtp://127.0.0.1:{port}",
        DEFAULT_FROM_EMAIL="Relay <relay@example.com>",
    )
    assert sent.returncode == 0, sent.stderr
    (mail,) = received
    assert "Subject: Password reset on Relay" in mail
    assert "From: Relay <relay@example.com>" in mail and "To: alice@example.com" in mail


@pytest.mark.parametrize(
    "url, expected",
    [
        ("smtp://mail.example.com", ["mail.example.com", 25, "", "", False, False]),
        ("smtp+tls://me%40example.com:p%3Ass@mail.example.com", ["mail.example.com", 587, "me@example.com", "p:ss"]),
        ("smtps://mail.example.com:2465", ["mail.example.com", 2465, "", "", False, True]),
    ],
)
def test_email_url_names_the_server_port_login_and_encryption(url, expected):
    shown = django_process(
        "import json; from django.conf import settings as s\n"
        "print(json.dumps([s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_HOST_USER, s.EMAIL_HOST_PASSWORD,"
        " s.EMAIL_USE_TLS, s.EMAIL_USE_SSL, s.EMAIL_BACKEND]))",
        EMAIL_URL=url,
    )
    assert shown.returncode == 0, shown.stderr
    values = json.loads(shown.stdout)
    assert values[: len(expected)] == expected
    assert values[-1] == "django.core.mail.backends.smtp.EmailBackend"
    if url.startswith("smtp+tls"):
        assert values[4:6] == [True, False]


def test_site_url_is_https_at_the_first_allowed_host_in_production_unless_set():
    """The links of the missed-message email (`SITE_URL`): production's default is its own host."""
    show = "from django.conf import settings; print(settings.SITE_URL)"
    production = {"RELAY_PRODUCTION": "1", "SECRET_KEY": "k" * 50, "JWT_SIGNING_KEY": "j" * 50}
    hosts = "relay.example.com,www.relay.example.com"
    assert django_process(show, **production, ALLOWED_HOSTS=hosts, SITE_URL="").stdout.strip() == (
        "https://relay.example.com"
    )
    chosen = django_process(show, **production, ALLOWED_HOSTS=hosts, SITE_URL="https://chat.example.com/")
    assert chosen.stdout.strip() == "https://chat.example.com"
    assert django_process(show, SITE_URL="", RELAY_PRODUCTION="").stdout.strip() == "http://127.0.0.1:8000"


def test_without_email_url_mail_is_printed_and_a_wrong_one_stops_the_start():
    default = django_process("from django.conf import settings; print(settings.EMAIL_BACKEND)", EMAIL_URL="")
    assert default.stdout.strip() == "django.core.mail.backends.console.EmailBackend"
    wrong = django_process("pass", EMAIL_URL="imap://mail.example.com")
    assert wrong.returncode != 0
    assert "EMAIL_URL must start with smtp://, smtp+tls://, smtps:// or be console://" in wrong.stderr
    console = django_process("from django.conf import settings; print(settings.EMAIL_BACKEND)", EMAIL_URL="console://")
    assert console.stdout.strip() == "django.core.mail.backends.console.EmailBackend", console.stderr
