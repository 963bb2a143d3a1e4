# Valkey from Debian's packages, for hosts that cannot pull valkey/valkey from a registry:
#   docker build -t tinirun-valkey --build-arg BASE=tinirun-base:trixie - < deploy/valkey.Dockerfile
#   TINIRUN_VALKEY_IMAGE=tinirun-valkey docker compose up -d
# It answers to the same command and data directory (/data) as the upstream image.
ARG BASE=debian:trixie-slim
FROM ${BASE}
USER root
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends valkey-server valkey-tools \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown valkey:valkey /data
USER valkey
WORKDIR /data
EXPOSE 6379
CMD ["valkey-server", "--protected-mode", "no"]
