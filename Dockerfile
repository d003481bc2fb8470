# The helpdesk bot's web server (channel webhooks, staff console, health, metrics).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# Dependencies first, so code changes do not reinstall them: exactly the versions CI tested, checked
# against their hashes (`make lock` writes requirements-runtime.lock beside requirements.lock).
COPY requirements-runtime.lock ./
RUN pip install --require-hashes --requirement requirements-runtime.lock
COPY pyproject.toml README.md ./

COPY bot bot
COPY faq faq
COPY intents intents
COPY locales locales
# The project itself with the locked build backend, nothing fetched unpinned.
RUN pip install --no-deps --no-build-isolation . && useradd --system --home /app helpdesk && chown -R helpdesk /app
USER helpdesk

# The installed package carries what the code reads (migrations, templates, the default campaigns);
# the content (faq/, intents/, locales/) is read from here: mount a volume over it to edit answers
# without rebuilding the image.
ENV CONTENT_DIR=/app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["helpdesk", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
