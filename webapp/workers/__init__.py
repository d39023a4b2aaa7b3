"""Workers: which Celery workers are online, what they serve and what they are running."""
