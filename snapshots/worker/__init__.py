"""What runs on a Docker host beside its engine: registration, heartbeat, inventory, and the Celery worker."""
