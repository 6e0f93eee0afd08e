"""Settings of the HTTP benchmark's server: Relay's own, with `bench.floor` (the app's URLs plus the floors) as
the URLconf. `bench/http.py` starts gunicorn with `DJANGO_SETTINGS_MODULE` naming this module.
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = f"{__package__}.floor"
