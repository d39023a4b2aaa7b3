# Stand-in for postgres:17 (README.md): PostgreSQL 17 is Debian trixie's default.
FROM debian:trixie-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-17 \
    && rm -rf /var/lib/apt/lists/*
# As in the real image: the server's tools on PATH (pg_isready for the health check), data in a volume.
ENV PATH=$PATH:/usr/lib/postgresql/17/bin PGDATA=/var/lib/postgresql/data
COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
EXPOSE 5432
STOPSIGNAL SIGINT
