"""The carry of the old tables into the new ones, for app code: `manage.py copy_legacy_messages`, the live
sync's catch-up, and the password rule's names.

The carry itself is `legacy_dm.migrations._carry`: migration 0003 runs it, and a migration imports nothing but
Django, the standard library and its own package, so what 0003 does never moves with app code. App code
reuses that same package (this module re-exports its public names), so the migration's copy and the catch-up copy
are one and the same.
"""

from legacy_dm.migrations._carry import *  # noqa: F403  (its public names, as its __all__ lists them)
from legacy_dm.migrations._carry import __all__ as __all__
