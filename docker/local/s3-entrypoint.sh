#!/bin/sh
# `minio server DIR [--console-address …]`: S3Proxy on :9000 over DIR, MINIO_ROOT_* as credentials.
set -eu
[ "${1:-}" = server ] || { echo "usage: minio server DIR" >&2; exit 2; }
data=${2:-/data}
conf=$(mktemp)
cat >"$conf" <<PROPS
s3proxy.endpoint=http://0.0.0.0:9000
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=${MINIO_ROOT_USER:?}
s3proxy.credential=${MINIO_ROOT_PASSWORD:?}
jclouds.provider=filesystem
jclouds.filesystem.basedir=$data
PROPS
exec java -jar /opt/s3proxy/s3proxy.jar --properties "$conf"
