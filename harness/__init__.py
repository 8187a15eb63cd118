"""
What the tests (tests/, memcachier_cache/tests/) and the benchmarks (bench/)
share: real servers and the clients that drive them. Both import it; neither
imports the other.

- services.py: PostgreSQL, memcached, gunicorn and runserver on free
  loopback ports (`python -m harness.services packages|run`);
- visitor.py: one HTTP visitor with its cookies and CSRF token;
- tarpit.py: a memcached that accepts and never answers, or a cuttable proxy;
- delay.py, delay_proxy.py: memcached a round trip away, as a hosted one is;
- reply_delay.py: memcached whose answers to one command come late;
- data.py: tasks seeded straight into the database, and edits;
- django_suites.py: Django's own cache and session tests, on a backend;
- faults/: the fault rig: the app under load on servers of its own to break,
  and the check that no read was stale.
"""
