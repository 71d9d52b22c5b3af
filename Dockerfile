# The Shequn image: one image for the web app (gunicorn), the Celery worker and beat, and one-off
# commands (migrate, createsuperuser, seed_demo). docker-compose.yml shows how they fit together.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/app/var \
    MEDIA_ROOT=/app/media

# fonts-wqy-microhei: share posters draw Chinese text (the start-up check shequn.E001 fails without
# a CJK font). gettext: msgfmt for compilemessages.
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-wqy-microhei gettext \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# The settings refuse to load with DEBUG off and no SECRET_KEY, or with no DATABASE_URL; these exist only
# during the build (nothing here connects to a database).
# Static files go to $DATA_DIR/static, inside the image (do not mount a volume over /app/var).
RUN export DEBUG=0 SECRET_KEY=build-only-not-a-secret DATABASE_URL=postgres://build-only@localhost/none \
 && if ls locale/*/LC_MESSAGES/*.po >/dev/null 2>&1; then python manage.py compilemessages -v 0; fi \
 && python manage.py collectstatic --noinput -v 0

RUN groupadd --system --gid 10001 shequn \
 && useradd --system --uid 10001 --gid shequn --home-dir /app --no-create-home --shell /usr/sbin/nologin shequn \
 && mkdir -p "$MEDIA_ROOT" \
 && chown shequn:shequn "$DATA_DIR" "$MEDIA_ROOT"
USER shequn

EXPOSE 8000
CMD ["sh", "-c", "exec gunicorn shequn.wsgi -b 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-3} --access-logfile -"]
