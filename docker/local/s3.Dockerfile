# Stand-in for minio/minio (see README.md): S3Proxy over a folder, with MinIO's command line,
# credentials and health command. The jar is the one `make tools` resolved into jars/tools.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 1000 --create-home s3 && mkdir /data && chown s3 /data
COPY s3proxy.jar /opt/s3proxy/s3proxy.jar
COPY s3-entrypoint.sh /usr/local/bin/minio
COPY s3-ready.sh /usr/local/bin/mc
USER s3
EXPOSE 9000
ENTRYPOINT ["/usr/local/bin/minio"]
CMD ["server", "/data"]
