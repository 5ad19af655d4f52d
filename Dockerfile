# The production image: web (gunicorn), worker and beat run this image with different commands.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=k12cloud.settings.production
WORKDIR /app

# gettext: compilemessages builds the translations (.mo files are never committed)
# postgresql-client: pg_dump/pg_restore for backups and restore drills (docs/backups.md). Debian's
# client is PostgreSQL 15, the major version docker-compose.yml's server and the test suite run:
# pg_dump refuses a server newer than itself, so move both together.
RUN apt-get update && apt-get install -y --no-install-recommends gettext postgresql-client \
    && rm -rf /var/lib/apt/lists/*
COPY requirements/lock.txt requirements/lock.txt
RUN pip install --no-cache-dir --require-hashes -r requirements/lock.txt
COPY . .
# build-time placeholders: these commands only need the settings to load, never a secret
RUN export SECRET_KEY=build-only ALLOWED_HOSTS=build EMAIL_HOST=build \
        DATABASE_URL=postgresql://build@localhost/build \
        ENCRYPTION_MASTER_KEYS="build:$(python -c 'import base64,os;print(base64.b64encode(os.urandom(32)).decode())')" \
        AUDIT_CHECKPOINT_PRIVATE_KEY=build-only \
        STRIPE_SECRET_KEY=build-only STRIPE_WEBHOOK_SECRET=build-only \
        PORTAL_BASE_URL=https://build.invalid \
        BACKUP_ENCRYPTION_KEY="$(python -c 'import base64,os;print(base64.b64encode(os.urandom(32)).decode())')" \
    && python manage.py collectstatic --noinput \
    && python manage.py compilemessages

RUN useradd --system --uid 10001 k12cloud
USER k12cloud
EXPOSE 8000
# workers and threads: ./gunicorn.conf.py (GUNICORN_WORKERS, GUNICORN_THREADS), read from /app
CMD ["gunicorn", "k12cloud.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
