"""gunicorn's settings for the web process: read from the working directory by the production
image (Dockerfile, docker-compose.yml) and by the intake benchmarks (benchmarks/scenarios/
intake.py), so what is measured is what runs. The command line adds the address.

The defaults suit a 2-core web host; GUNICORN_WORKERS and GUNICORN_THREADS change them. Why
these: benchmarks/README.md, "intake_api and api_baseline".
"""

import os

workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# gthread with more than one thread per worker; sync otherwise (gunicorn's own rule)
worker_class = "gthread" if threads > 1 else "sync"
