#!/bin/sh
# `mc ready local`: the S3 API answers (any HTTP status; S3Proxy refuses unsigned requests with 403).
curl -s -o /dev/null --max-time 5 http://127.0.0.1:9000/
