"""Celery settings of the compose workers, which run `celery -A dagster_celery.app worker` directly.

`dagster_celery.app` imports a module of this name when it is importable (PYTHONPATH=docker/celery),
the same module `dagster-celery worker start -y docker/celery.yaml` writes with literal values. Read in
the worker process only, from the variables the runs' executor reads (orchestration/executors.py).
"""

import os

broker_url = os.environ["CELERY_BROKER_URL"]
result_backend = os.environ["CELERY_BACKEND_URL"]
