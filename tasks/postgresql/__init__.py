"""
Django's PostgreSQL backend that doesn't make every request wait on a
database that just failed to connect (ENGINE "tasks.postgresql"; why in
tasks/database_outage.py).
"""
