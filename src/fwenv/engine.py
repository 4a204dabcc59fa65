"""The Docker engine, through the docker SDK (no CLI text parsing).

`ContainerSpec` describes a container once; it yields both the SDK call and the equivalent
`docker run` line that `--dry-run` prints.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import FwenvError

FIX_ENGINE = "install and start it: sudo scripts/setup (or apt-get install docker.io; dockerd &)"


class EngineError(FwenvError):
    """A Docker API error, as one line (`reason` is the engine's own explanation)."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


def _reason(e: Exception) -> str:
    return " ".join(str(getattr(e, "explanation", None) or e).split())[:160]


@dataclass(frozen=True)
class Mount:
    source: str  # host path (bind) or volume name (volume)
    target: str
    read_only: bool = False
    kind: Literal["bind", "volume"] = "bind"

    def cli(self) -> str:
        ro = ",readonly" if self.read_only else ""
        return f"type={self.kind},source={self.source},target={self.target}{ro}"


@dataclass
class ContainerSpec:
    """Everything about a container we start. Defaults are the hermetic, least-privilege ones."""

    image: str
    command: Sequence[str] = ()
    mounts: Sequence[Mount] = ()
    network: str = "none"
    user: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    workdir: str | None = None
    security_opt: Sequence[str] = ()
    cap_add: Sequence[str] = ()
    entrypoint: Sequence[str] | None = None
    labels: dict[str, str] = field(default_factory=dict)
    init: bool = True  # reap zombies, forward signals

    def cli(self, detach: bool = False) -> list[str]:
        """The equivalent `docker run` argv (for `--dry-run` and error messages)."""
        a = ["docker", "run", "-d" if detach else "--rm", f"--network={self.network}"]
        if self.init:
            a.append("--init")
        for m in self.mounts:
            a += ["--mount", m.cli()]
        if self.user:
            a += ["--user", self.user]
        for k, v in self.env.items():
            a += ["-e", f"{k}={v}"]
        if self.workdir:
            a += ["-w", self.workdir]
        for s in self.security_opt:
            a += ["--security-opt", s]
        for c in self.cap_add:
            a += ["--cap-add", c]
        args = list(self.command)
        if self.entrypoint is not None:
            # The CLI's --entrypoint takes one program; its arguments go before the command.
            a += ["--entrypoint", self.entrypoint[0]]
            args = [*self.entrypoint[1:], *args]
        return [*a, self.image, *args]

    def host_config(self, api: Any) -> dict[str, Any]:
        from docker.types import Mount as DMount

        security = [o for o in self.security_opt if o != "systempaths=unconfined"]
        hc: dict[str, Any] = api.create_host_config(
            mounts=[DMount(m.target, m.source, type=m.kind, read_only=m.read_only)
                    for m in self.mounts],
            network_mode=self.network, security_opt=security or None,
            cap_add=list(self.cap_add) or None, init=self.init,
        )
        if "systempaths=unconfined" in self.security_opt:
            # What the CLI's --security-opt systempaths=unconfined means (no SDK keyword).
            hc["MaskedPaths"], hc["ReadonlyPaths"] = [], []
        return hc


class Engine:
    """A Docker engine: connected at once (`connect`) or on first use (`on_demand`)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._connected()
        return self._client

    @classmethod
    def connect(cls) -> Engine:
        """The engine, or a one-line error when none answers."""
        return cls(cls._connected())

    @classmethod
    def on_demand(cls) -> Engine:
        """The engine, connected when first asked: bad input is refused before that."""
        return cls(None)

    @staticmethod
    def _connected() -> Any:
        try:
            import docker

            client = docker.from_env(timeout=600)
            client.ping()
        except Exception as e:  # DockerException, connection errors, missing socket
            reason = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
            raise FwenvError(f"no Docker engine answers ({reason}): {FIX_ENGINE}") from None
        return client

    # -- images -------------------------------------------------------------------------------
    def image(self, ref: str) -> Any | None:
        import docker.errors

        try:
            return self.client.images.get(ref)
        except docker.errors.ImageNotFound:
            return None

    def images_labelled(self, key: str, value: str) -> list[Any]:
        return list(self.client.images.list(filters={"label": f"{key}={value}"}))

    def image_tags(self, name: str) -> list[str]:
        """Every tag of every image in repository `name`."""
        return [t for img in self.client.images.list(name=name) for t in img.tags]

    def layers(self, ref: str) -> list[str]:
        """The image's layer digests (diff ids), bottom first."""
        return list(self.client.api.inspect_image(ref)["RootFS"].get("Layers") or [])

    def untag(self, ref: str) -> None:
        """Remove one tag, keeping the image (and its other tags); nothing if it is gone."""
        try:
            self.client.images.remove(ref, noprune=True)
        except Exception:  # already gone
            pass

    def push(self, repo: str, tag: str) -> str:
        """`docker push repo:tag`; return the registry's manifest digest."""
        ref = f"{repo}:{tag}"
        digest = ""
        for msg in self.client.images.push(repo, tag=tag, stream=True, decode=True):
            if "error" in msg:
                raise EngineError(f"docker push {ref} failed: {msg['error']}: "
                                  "check the registry (docker login, TLS)", str(msg["error"]))
            digest = msg.get("aux", {}).get("Digest", digest)
        if not digest.startswith("sha256:"):
            raise EngineError(f"docker push {ref} reported no digest: check the registry")
        return digest

    def pull(self, ref: str) -> tuple[str, list[str]]:
        """`docker pull REF@sha256:…`; return the image id and its layers."""
        repo, _, digest = ref.partition("@")
        try:
            img = self.client.images.pull(repo, tag=digest)
        except Exception as e:
            raise EngineError(f"cannot pull {ref}: {_reason(e)}: "
                              "check the registry and the digest", _reason(e)) from None
        return img.id, list(img.attrs.get("RootFS", {}).get("Layers", []))

    def import_tar(self, path: Path, changes: Sequence[str] = ()) -> str:
        """`docker import` a rootfs tarball, untagged; return the image id."""
        out = self.client.api.import_image_from_file(str(path), changes=list(changes) or None)
        image_id = ""
        for line in str(out).splitlines():
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if "error" in msg:
                raise FwenvError(f"docker import of {path.name} failed: {msg['error']}")
            image_id = msg.get("status", image_id)
        if not image_id.startswith("sha256:"):
            raise FwenvError(f"docker import of {path.name} gave no image id: {str(out)[:200]}")
        return image_id

    def load_tar(self, path: Path) -> list[Any]:
        """`docker load` an image archive; return the loaded images."""
        import docker.errors

        try:
            with open(path, "rb") as f:
                return list(self.client.images.load(f))
        except docker.errors.APIError as e:
            raise FwenvError(
                f"docker load of {path.name} failed: {e.explanation or e}: "
                "the archive is damaged; rebuild it (invoke guix.pack --force)"
            ) from None

    def tag(self, image_id: str, ref: str) -> None:
        repo, _, tag = ref.rpartition(":") if ":" in ref.split("/")[-1] else (ref, "", "latest")
        self.client.images.get(image_id).tag(repo, tag)

    def remove_image(self, ref: str, force: bool = True) -> None:
        import docker.errors

        try:
            self.client.images.remove(ref, force=force)
        except docker.errors.ImageNotFound:
            pass
        except docker.errors.APIError as e:
            raise EngineError(f"cannot remove image {ref} ({_reason(e)}): "
                              "stop the containers that use it", _reason(e)) from None

    def remove_unused(self, image_id: str) -> None:
        """Remove an image left untagged, unless a container still uses it."""
        import docker.errors

        img = self.image(image_id)
        if img is not None and not img.tags:
            try:
                self.client.images.remove(image_id)
            except docker.errors.APIError:
                pass

    # -- containers ---------------------------------------------------------------------------
    def run(self, spec: ContainerSpec, on_line: Callable[[str], None] | None = None) -> tuple[int, str]:
        """Run a container to completion; stream its output; always remove it (also on ^C).
        An engine that cannot start it raises EngineError."""
        import docker.errors

        container = self.create(spec)
        try:
            try:
                container.start()
            except docker.errors.APIError as e:
                raise EngineError(f"cannot start a container from {spec.image} ({_reason(e)})",
                                  _reason(e)) from None
            chunks: list[str] = []
            buf = ""
            for raw in container.logs(stream=True, follow=True):
                text = raw.decode("utf-8", "replace")
                chunks.append(text)
                if on_line:
                    buf += text
                    *lines, buf = buf.split("\n")
                    for ln in lines:
                        on_line(ln)
            if on_line and buf:
                on_line(buf)
            code = int(container.wait()["StatusCode"])
            return code, "".join(chunks)
        finally:
            self._remove(container)

    def create(self, spec: ContainerSpec, name: str | None = None) -> Any:
        import docker.errors

        api = self.client.api
        try:
            resp = api.create_container(
                spec.image, command=list(spec.command) or None, environment=dict(spec.env),
                working_dir=spec.workdir, user=spec.user or None,
                entrypoint=list(spec.entrypoint) if spec.entrypoint is not None else None,
                labels={"org.fwenv.ephemeral": "1", **spec.labels},
                host_config=spec.host_config(api), name=name,
            )
            return self.client.containers.get(resp["Id"])
        except docker.errors.ImageNotFound:
            raise FwenvError(f"image {spec.image} not found: build it first") from None
        except docker.errors.APIError as e:
            raise FwenvError(f"cannot create a container from {spec.image}: {e.explanation}") from None

    @contextmanager
    def started(self, spec: ContainerSpec) -> Iterator[Any]:
        """A long-lived container for `exec`s; removed when the block ends, however it ends."""
        container = self.create(spec)
        try:
            container.start()
            yield container
        finally:
            self._remove(container)

    @staticmethod
    def _remove(container: Any) -> None:
        try:
            container.remove(force=True, v=True)
        except Exception:  # already gone
            pass

    def remove_container(self, name: str) -> None:
        """Force-remove a container (and its anonymous volumes) by name; nothing if gone."""
        try:
            self._remove(self.client.containers.get(name))
        except Exception:  # already gone
            pass

    def exec(self, container: Any, argv: Sequence[str], *, env: dict[str, str],
             workdir: str | None = None, user: str | None = None,
             on_text: Callable[[str], None] | None = None) -> tuple[int, str]:
        """`docker exec` argv (no shell) in a running container; stream its output to
        `on_text`; return (exit code, output)."""
        api = self.client.api
        exec_id = api.exec_create(container.id, list(argv), environment=env, workdir=workdir,
                                  user=user or "")["Id"]
        chunks: list[str] = []
        for raw in api.exec_start(exec_id, stream=True):
            text = raw.decode("utf-8", "replace")
            chunks.append(text)
            if on_text:
                on_text(text)
        return int(api.exec_inspect(exec_id)["ExitCode"]), "".join(chunks)

    @staticmethod
    def running(container: Any) -> tuple[bool, str]:
        """Whether the container still runs; its log so far when it does not."""
        container.reload()
        if container.status == "running":
            return True, ""
        return False, container.logs().decode("utf-8", "replace")

    @staticmethod
    def put_archive(container: Any, path: str, data: bytes) -> None:
        container.put_archive(path, data)

    @staticmethod
    def get_archive(container: Any, path: str) -> Iterator[bytes]:
        stream, _ = container.get_archive(path)
        yield from stream

    # -- volumes ------------------------------------------------------------------------------
    def volume_exists(self, name: str) -> bool:
        import docker.errors

        try:
            self.client.volumes.get(name)
            return True
        except docker.errors.NotFound:
            return False

    def ensure_volume(self, name: str, labels: dict[str, str]) -> None:
        if not self.volume_exists(name):
            self.client.volumes.create(name=name, labels=labels)

    def volumes_labelled(self, key: str, value: str) -> list[str]:
        return sorted(v.name for v in self.client.volumes.list(filters={"label": f"{key}={value}"}))

    def remove_volume(self, name: str) -> bool:
        import docker.errors

        try:
            self.client.volumes.get(name).remove(force=True)
            return True
        except docker.errors.NotFound:
            return False



def run_interactive(argv: Sequence[str]) -> int:
    """`docker run -it …` on this terminal (the SDK cannot hand a TTY over); its exit code."""
    try:
        return subprocess.call(list(argv))  # noqa: S603 (argv list)
    except FileNotFoundError:
        raise FwenvError("docker CLI not found: apt-get install docker.io") from None
