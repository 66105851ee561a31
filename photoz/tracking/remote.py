"""An MLflow tracking server as the store (tracking.uri=http://host:port): checked reachable in
seconds, before any data is made or model trained, and left to keep the artifacts itself.

The MLflow client retries a silent server for minutes; a GET of the server's /health endpoint
with a short timeout tells a wrong host or port at once.
"""

from __future__ import annotations

import urllib.error
import urllib.request

from photoz.errors import ConfigError

SERVER_SCHEMES = ("http://", "https://")


def is_server(uri: str) -> bool:
    """Whether `uri` names an MLflow tracking server rather than a local store."""
    return uri.startswith(SERVER_SCHEMES)


def check_server(uri: str, timeout_s: float = 10.0) -> None:
    """ConfigError naming `uri` unless the MLflow server there answers its /health endpoint."""
    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=timeout_s) as reply:
            if reply.status == 200:
                return
            reason = f"HTTP {reply.status}"
    except urllib.error.HTTPError as err:
        reason = f"HTTP {err.code}"
    except (OSError, ValueError) as err:  # refused, unknown host, timeout, malformed URL
        reason = str(getattr(err, "reason", err)) or type(err).__name__
    raise ConfigError(
        f"tracking.uri={uri}: no MLflow tracking server answers there ({reason}); start it "
        "(mlflow server --host 0.0.0.0 --port 5000 --serve-artifacts ...) or fix the host and port"
    )


def server_keeps_artifacts(uri: str, artifact_root: str) -> bool:
    """With a tracking server, new experiments keep their artifacts where the server says
    (--serve-artifacts) unless tracking.artifact_root is itself a URI (s3://..., mlflow-artifacts:/...):
    a local path would be local to whichever node logged."""
    return is_server(uri) and ":/" not in artifact_root
