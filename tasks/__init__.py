"""Celery: the app and its thin tasks."""

from tasks.celery import app

__all__ = ["app"]
