# Sourced by scripts/run.sh and scripts/test.sh: a virtual environment in .venv with requirements.txt installed.
# Reinstalls only when requirements.txt changed. Needs Python 3.11+ (python3, or $PYTHON).
# pip prints its own progress (a line per package, about 15-30 s on a first run), so the wait is never silent.
PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Relay needs Python 3.11 or newer ($PYTHON is $("$PYTHON" --version 2>&1))." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "==> Creating the virtual environment in .venv ..."
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.requirements.sha256"
wanted="$(.venv/bin/python -c 'import hashlib,sys; print(hashlib.sha256(open("requirements.txt","rb").read()).hexdigest())')"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  echo "==> Upgrading pip in .venv ..."
  .venv/bin/python -m pip install --upgrade --disable-pip-version-check pip
  echo "==> Installing requirements.txt into .venv (a line per package) ..."
  .venv/bin/python -m pip install --disable-pip-version-check -r requirements.txt
  echo "$wanted" > "$stamp"
  echo "==> Requirements installed."
fi
