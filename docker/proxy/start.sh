#!/bin/sh
# The redirect from plain HTTP names the HTTPS port the host publishes (HTTPS_PORT in docker/.env):
# nginx only knows its own port, 443, inside the container.
set -eu
port="${HTTPS_PORT:-443}"
case "$port" in
  ''|*[!0-9]*) echo "HTTPS_PORT must be a port number, got '$port'" >&2; exit 2 ;;
esac
sed "s/@HTTPS_PORT@/$port/" /etc/nginx/nginx.conf.in > /etc/nginx/nginx.conf
exec nginx -g 'daemon off;'
