# The tinirun service, installed from this repository into a venv, run as a non-root user.
# It needs a Docker engine: the host's socket mounted at /var/run/docker.sock (with its group
# added to the container), or DOCKER_HOST. See README.md, "Deploy".
#
#   docker build -t tinirun .                                      # on python:3.13-slim
#   docker build -t tinirun --build-arg BASE=debian:trixie-slim .  # a plain Debian: Python from apt
ARG BASE=python:3.13-slim

# Python: present in python images, installed from apt on a plain Debian base.
FROM ${BASE} AS python
USER root
RUN if ! command -v python3 >/dev/null; then \
      apt-get update \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv \
      && rm -rf /var/lib/apt/lists/*; \
    fi

# The venv. CA certificates in deploy/build-ca/*.pem (a TLS-intercepting proxy's) are trusted by
# pip in this stage only: the final image copies the venv, never the certificates.
FROM python AS build
COPY deploy/build-ca/ /tmp/build-ca/
RUN python3 -m venv /opt/tinirun \
 && cat "$(/opt/tinirun/bin/python -c 'import pip._vendor.certifi as c; print(c.where())')" \
        $(ls /tmp/build-ca/*.pem 2>/dev/null) > /tmp/ca.pem
ENV PIP_CERT=/tmp/ca.pem PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# The Python client (a distribution of its own, which the CLI uses), then the service's
# dependencies from a stub of the package, so that a code change does not reinstall them.
COPY clients/python/ /src/clients/python/
COPY pyproject.toml /src/
RUN mkdir /src/tinirun && touch /src/tinirun/__init__.py /src/README.md \
 && /opt/tinirun/bin/pip install -q /src/clients/python /src \
 && rm -rf /src/tinirun /src/README.md /src/build /src/*.egg-info /src/clients
COPY README.md /src/
COPY tinirun/ /src/tinirun/
RUN /opt/tinirun/bin/pip install -q --no-deps --force-reinstall /src \
 && /opt/tinirun/bin/pip uninstall -q -y pip

FROM python
# A user of its own (no useradd in minimal Debian); the engine's socket group is added at run time.
RUN echo 'tinirun:x:10001:10001:tinirun:/data:/usr/sbin/nologin' >> /etc/passwd \
 && echo 'tinirun:x:10001:' >> /etc/group \
 && mkdir -p /data && chown 10001:10001 /data
COPY --from=build /opt/tinirun /opt/tinirun
ENV PATH=/opt/tinirun/bin:$PATH \
    HOME=/data \
    PYTHONUNBUFFERED=1 \
    RUNNER_HOST=0.0.0.0 \
    RUNNER_PORT=8080 \
    RUNNER_DATA_DIR=/data
USER 10001:10001
WORKDIR /data
EXPOSE 8080
# No curl in slim images: Python asks /api/health (no key needed; 503, so unhealthy, while the
# engine or the store does not answer).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python3", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/api/health' % os.environ.get('RUNNER_PORT', '8080'), timeout=4)"]
CMD ["tinirun", "serve"]
