# The production image: web (gunicorn), worker and beat run this image with different commands.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=k12cloud.settings.production
WORKDIR /app

COPY requirements/lock.txt requirements/lock.txt
RUN pip install --no-cache-dir --require-hashes -r requirements/lock.txt
COPY . .
RUN SECRET_KEY=collectstatic-only ALLOWED_HOSTS=build EMAIL_HOST=build \
    DATABASE_URL=postgresql://build@localhost/build \
    python manage.py collectstatic --noinput

RUN useradd --system --uid 10001 k12cloud
USER k12cloud
EXPOSE 8000
CMD ["gunicorn", "k12cloud.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
