from k12cloud.celery import app as celery_app

__all__ = ["celery_app"]
