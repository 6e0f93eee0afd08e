#!/usr/bin/env bash
# Creates the bench-only virtualenvs holding the apps Relay is compared against. They are NOT the project's
# virtualenv and these packages are NOT in requirements.txt: they exist only to be measured.
#
# - $BENCH_VENV (default /work/bench-venv): Django 5.2 + django-postman 4.6.
# - $BENCH_VENV_PINAX (default /work/bench-venv-pinax): Django 3.2 + pinax-messages 3.0.0. pinax-messages 3.0.0
#   (its latest release) installs on Django 5.2 but cannot be imported there: its signals module calls
#   `Signal(providing_args=...)`, removed in Django 4.0. Django 3.2 LTS is the newest Django it runs on
#   (Django 3.2 speaks psycopg2, hence psycopg2-binary; psycopg 3 is only used by the data copy).
#
# Idempotent: reruns are a no-op once each venv imports everything.
set -euo pipefail
PYTHON="${PYTHON:-python3}"
POSTMAN_VENV="${BENCH_VENV:-/work/bench-venv}"
PINAX_VENV="${BENCH_VENV_PINAX:-/work/bench-venv-pinax}"

make_venv() {  # venv, import check, packages...
  local venv="$1" check="$2"
  shift 2
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" 2>/dev/null; then
    return 0
  fi
  "$PYTHON" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "$@"
  "$venv/bin/python" -c "$check"
  echo "bench venv ready: $venv ($("$venv/bin/python" -c 'import django; print("Django", django.get_version())'))"
}

make_venv "$POSTMAN_VENV" "import django, postman, psycopg" \
  "Django==5.2.19" "psycopg[binary]==3.3.9" "django-postman==4.6"

make_venv "$PINAX_VENV" "import django, django.conf as c; c.settings.configure(INSTALLED_APPS=['django.contrib.auth','django.contrib.contenttypes','pinax.messages']); django.setup(); import psycopg, psycopg2" \
  "Django==3.2.25" "psycopg2-binary==2.9.10" "psycopg[binary]==3.3.9" "pinax-messages==3.0.0"
