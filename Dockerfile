# Warroom image: one image for web (uvicorn), worker, beat and migrate.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get -o DPkg::Lock::Timeout=300 update \
 && apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends gcc libldap2-dev libsasl2-dev fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements/ requirements/
RUN pip install --no-cache-dir -r requirements/base.txt
COPY . .
RUN WARROOM_VAR_DIR=/tmp/build-var DJANGO_SECRET_KEY=build-only python manage.py collectstatic --noinput -v0 \
 && useradd --system --home /app warroom && mkdir -p /app/var && chown -R warroom /app/var
USER warroom
EXPOSE 8000
CMD ["uvicorn", "config.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--lifespan", "on", "--no-proxy-headers", "--timeout-graceful-shutdown", "3"]
