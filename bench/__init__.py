"""The load benchmark (`make bench`) and its helpers; see bench/run.py."""
