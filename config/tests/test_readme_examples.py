"""README's curl examples run as written (bash, real curl) against a live server with the demo data."""

import re
import shutil
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from messaging.models import Message
from tests.helpers import restore_moderators_group

README = Path(settings.BASE_DIR) / "README.md"
README_ADDRESS = "http://127.0.0.1:8000"

pytestmark = [
    pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed: README's examples need it"),
    pytest.mark.skipif(shutil.which("python3") is None, reason="python3 is not on PATH: README's examples use it"),
]


def readme_curl_examples() -> list[str]:
    """Every ```bash block of README.md that calls curl."""
    blocks = re.findall(r"^```bash\n(.*?)^```$", README.read_text(), flags=re.MULTILINE | re.DOTALL)
    return [block for block in blocks if re.search(r"^\s*(\S+=\$\()?curl ", block, flags=re.MULTILINE)]


def test_readme_has_curl_examples_and_each_fails_loudly():
    examples = readme_curl_examples()
    assert examples
    for example in examples:
        for call in re.findall(r"curl [^\n]*", example):
            assert "-sS --fail-with-body" in call, call


def test_readme_curl_examples_run_against_a_live_server(live_server, transactional_db, tmp_path):
    """Each example exits 0 under `set -euo pipefail` and does what its comments say."""
    restore_moderators_group()  # seed_data adds its moderator to it
    call_command("seed_data", stdout=StringIO())
    for example in readme_curl_examples():
        script = example.replace(README_ADDRESS, live_server.url)
        assert live_server.url in script
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, f"{script}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    sent = Message.objects.filter(sender__username="alice", recipient__username="bob")
    assert sent.filter(body="Hello from curl").exists()
    note = sent.get(body="the notes")
    assert (note.attachment_name, bytes(note.attachment_data)) == (
        "notes.txt",
        b"Launch checklist: fuel, snacks, zeppelins.\n",
    )
