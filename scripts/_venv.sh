# Sourced by the scripts: a virtual environment in .venv with $REQUIREMENTS installed (requirements.txt, what
# serves, by default; scripts/test.sh asks for requirements-dev.txt, which includes it). Reinstalls only when
# the file (or the runtime file it includes) changed. Needs Python 3.11+ (python3, or $PYTHON).
# pip prints a line per package on a first run, so the wait is never silent.
PYTHON="${PYTHON:-python3}"
REQUIREMENTS="${REQUIREMENTS:-requirements.txt}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Relay needs Python 3.11 or newer ($PYTHON is $("$PYTHON" --version 2>&1))." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "==> Creating the virtual environment in .venv ..."
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$REQUIREMENTS.sha256"
wanted="$(cat "$REQUIREMENTS" requirements.txt | .venv/bin/python -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  echo "==> Installing $REQUIREMENTS into .venv (a line per package) ..."
  .venv/bin/python -m pip install --disable-pip-version-check -r "$REQUIREMENTS"
  echo "$wanted" > "$stamp"
  echo "==> Requirements installed."
fi
