"""Real servers for tests, on 127.0.0.1 with ephemeral ports."""

from __future__ import annotations

import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import PROJECT_ROOT

S3PROXY_JAR = PROJECT_ROOT / "jars" / "tools" / "s3proxy-4.1.0-jar-with-dependencies.jar"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class S3Server:
    """S3Proxy (from Maven Central): S3 API over a folder on disk, with signature checks.

    Where it differs from MinIO, as far as these tests go: no bucket policies/versioning/
    notifications, and ListBuckets is not used by the code. Path-style addressing only.
    """

    endpoint: str
    access_key: str
    secret_key: str
    process: subprocess.Popen
    folder: Path

    @classmethod
    def start(cls, folder: Path) -> S3Server:
        if not S3PROXY_JAR.is_file():
            raise RuntimeError(f"{S3PROXY_JAR} missing: run `make tools` (Maven resolves S3Proxy)")
        port = free_port()
        endpoint = f"http://127.0.0.1:{port}"
        access_key, secret_key = secrets.token_hex(8), secrets.token_hex(16)
        (folder / "data").mkdir(parents=True, exist_ok=True)
        conf = folder / "s3proxy.conf"
        conf.write_text(
            f"s3proxy.endpoint={endpoint}\ns3proxy.authorization=aws-v2-or-v4\n"
            f"s3proxy.identity={access_key}\ns3proxy.credential={secret_key}\n"
            f"jclouds.provider=filesystem\njclouds.filesystem.basedir={folder / 'data'}\n"
        )
        server = cls(endpoint, access_key, secret_key, cls._launch(folder), folder)
        server._wait_ready()
        return server

    @staticmethod
    def _launch(folder: Path) -> subprocess.Popen:
        log = open(folder / "s3proxy.log", "ab")  # noqa: SIM115 - lives as long as the server
        conf = folder / "s3proxy.conf"
        return subprocess.Popen(
            ["java", "-jar", str(S3PROXY_JAR), "--properties", str(conf)], stdout=log, stderr=log
        )

    def kill(self) -> None:
        """kill -9: the store vanishes mid-request, as in a crash."""
        self.process.kill()
        self.process.wait(timeout=30)

    def restart(self) -> None:
        """Start again on the same port and folder (the objects written before are still there)."""
        self.process = self._launch(self.folder)
        self._wait_ready()

    def _wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.endpoint, timeout=2)
                return
            except urllib.error.HTTPError:  # 403 without credentials: it is up
                return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("S3Proxy exited at start") from None
                time.sleep(0.2)
        raise RuntimeError(f"S3Proxy not ready at {self.endpoint}")

    def env(self) -> dict[str, str]:
        return {
            "NYCTAXI_S3_ENDPOINT": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": "us-east-1",
        }

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
