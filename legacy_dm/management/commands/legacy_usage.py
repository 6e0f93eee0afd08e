"""`manage.py legacy_usage`: how often each legacy endpoint is still called, so it can be retired at zero."""

from django.core.management.base import BaseCommand

from legacy_dm.models import LegacyEndpointUsage
from legacy_dm.views import endpoints


class Command(BaseCommand):
    help = "Print the call count of every legacy endpoint (never-called ones as 0), busiest first."

    def handle(self, *args, **options):
        counted = {usage.endpoint: usage for usage in LegacyEndpointUsage.objects.all()}
        successors = dict(endpoints())
        names = sorted(
            {*successors, *counted},
            key=lambda name: (-(counted[name].calls if name in counted else 0), name),
        )
        width = max(len(name) for name in names)
        self.stdout.write(f"{'endpoint':<{width}}  {'calls':>10}  {'last call (UTC)':<19}  successor")
        total = 0
        for name in names:
            usage = counted.get(name)
            calls = usage.calls if usage else 0
            total += calls
            last = usage.last_called_at.strftime("%Y-%m-%d %H:%M:%S") if usage else "never"
            self.stdout.write(f"{name:<{width}}  {calls:>10}  {last:<19}  {successors.get(name, '')}")
        self.stdout.write(f"{'total':<{width}}  {total:>10}")
