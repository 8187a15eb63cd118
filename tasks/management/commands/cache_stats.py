from django.core.management.base import BaseCommand

from tasks import cache_admin


class Command(BaseCommand):
    help = (
        "Print the cache's own statistics: per memcached server, as the MemCachier dashboard shows them, "
        "or the file cache's items and bytes."
    )

    def handle(self, *args, **options):
        for server in cache_admin.server_stats():
            if server["kind"] == "memcached":
                self.print_memcached(server)
            else:
                self.print_file_cache(server)

    def print_memcached(self, server):
        self.stdout.write(f"memcached {server['server']}")
        if not server["reachable"]:
            self.stdout.write("  unreachable")
            return
        ratio = server["hit_ratio"]
        for field, label in cache_admin.MEMCACHED_FIELDS[:2]:
            self.stdout.write(f"  {label:<12} {server[field]}")
        self.stdout.write(f"  {'hit ratio':<12} {'n/a' if ratio is None else f'{100 * ratio:.1f}%'}")
        for field, label in cache_admin.MEMCACHED_FIELDS[2:]:
            value = server[field]
            self.stdout.write(f"  {label:<12} {'n/a' if value is None else value}")

    def print_file_cache(self, server):
        self.stdout.write("file cache (embedded default)")
        self.stdout.write(f"  {'location':<12} {server['server']}")
        self.stdout.write(f"  {'items':<12} {server['curr_items']}")
        self.stdout.write(f"  {'bytes':<12} {server['bytes']}")
        self.stdout.write("  hits, misses, evictions: not counted by the file cache")
