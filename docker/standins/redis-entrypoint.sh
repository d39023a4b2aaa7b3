#!/bin/sh
# What the real redis image does: runs as the redis user in /data, and without a config file it is
# not in protected mode (the real image patches that default), so other containers may connect.
set -eu
chown redis:redis /data
if [ "${1:-}" = redis-server ]; then
    shift
    set -- redis-server --protected-mode no "$@"
fi
exec runuser -u redis -- "$@"
