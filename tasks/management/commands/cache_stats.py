import os

from django.core.cache import caches
from django.core.management.base import BaseCommand

# memcached stat -> label, in the order the MemCachier dashboard shows them.
FIELDS = [
    ("get_hits", "hits"),
    ("get_misses", "misses"),
    ("curr_items", "items"),
    ("bytes", "bytes"),
    ("limit_maxbytes", "limit"),
    ("evictions", "evictions"),
    ("curr_connections", "connections"),
    ("uptime", "uptime (s)"),
]


class Command(BaseCommand):
    help = "Print the cache's own statistics, per memcached server."

    def handle(self, *args, **options):
        cache = caches["default"]
        if hasattr(cache, "server_stats"):
            for server, stats in cache.server_stats().items():
                self.print_memcached(server, stats)
        else:
            self.print_other(cache)

    def print_memcached(self, server, stats):
        self.stdout.write(f"memcached {server}")
        if not stats:
            self.stdout.write("  unreachable")
            return
        hits, misses = int(stats["get_hits"]), int(stats["get_misses"])
        ratio = f"{100 * hits / (hits + misses):.1f}%" if hits + misses else "n/a"
        for field, label in FIELDS[:2]:
            self.stdout.write(f"  {label:<12} {stats[field]}")
        self.stdout.write(f"  {'hit ratio':<12} {ratio}")
        for field, label in FIELDS[2:]:
            self.stdout.write(f"  {label:<12} {stats.get(field, 'n/a')}")

    def print_other(self, cache):
        backend = type(cache).__name__
        self.stdout.write(f"{backend} (embedded default)")
        directory = getattr(cache, "_dir", None)
        if directory is None:
            self.stdout.write("  no statistics for this backend")
            return
        files = list(cache._list_cache_files())
        size = sum(_size(name) for name in files)
        self.stdout.write(f"  {'location':<12} {directory}")
        self.stdout.write(f"  {'items':<12} {len(files)}")
        self.stdout.write(f"  {'bytes':<12} {size}")
        self.stdout.write("  hits, misses, evictions: not counted by the file cache")


def _size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
