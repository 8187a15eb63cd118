"""Where and with what a benchmark or fault run ran."""

import os
import platform
import re
import subprocess
from pathlib import Path

from harness.services import find_program


def machine():
    cpuinfo = Path("/proc/cpuinfo").read_text()
    meminfo = Path("/proc/meminfo").read_text()
    model = re.search(r"model name\s*:\s*(.*)", cpuinfo)
    memory_kb = int(re.search(r"MemTotal:\s*(\d+)", meminfo).group(1))
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model.group(1).strip() if model else platform.processor(),
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def versions():
    """The versions of everything that ran, as each program says."""
    import django
    import gunicorn

    def version_of(*command):
        out = subprocess.run([find_program(command[0]), *command[1:]], capture_output=True, text=True, timeout=10)
        number = re.search(r"\d+(\.\d+)+", out.stdout + out.stderr)
        return number.group(0) if number else "?"

    found = {
        "python": platform.python_version(),
        "django": django.get_version(),
        "gunicorn": gunicorn.__version__,
        "postgresql": version_of("postgres", "--version"),
        "memcached": version_of("memcached", "-V"),
    }
    if find_program("wrk"):
        found["wrk"] = version_of("wrk", "-v")
    return found
