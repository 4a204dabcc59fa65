"""The container engine, through the docker SDK (no CLI text parsing): Docker, or Podman's
Docker-compatible service (fwenv.enginekind picks which; README "Without root").

`ContainerSpec` (fwenv.spec) describes a container once; `host_config` turns it into the SDK's.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, BinaryIO

from .enginekind import engine_kind, fix_podman, podman_socket
from .errors import FwenvError
from .spec import ContainerSpec as ContainerSpec
from .spec import Mount as Mount

FIX_ENGINE = "install and start it: sudo scripts/setup (or apt-get install docker.io; dockerd &)"


class EngineError(FwenvError):
    """A Docker API error, as one line (`reason` is the engine's own explanation)."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


def _reason(e: Exception) -> str:
    return " ".join(str(getattr(e, "explanation", None) or e).split())[:160]


def host_config(spec: ContainerSpec, api: Any, podman: bool = False) -> dict[str, Any]:
    from docker.types import Mount as DMount

    # Podman's compat API reads systempaths=unconfined itself and ignores empty MaskedPaths.
    security = [o for o in spec.security_opt if podman or o != "systempaths=unconfined"]
    hc: dict[str, Any] = api.create_host_config(
        mounts=[DMount(m.target, m.source, type=m.kind, read_only=m.read_only)
                for m in spec.mounts],
        network_mode=spec.network, security_opt=security or None,
        cap_add=list(spec.cap_add) or None, init=spec.init,
    )
    if podman and os.geteuid() != 0 and spec.user and spec.user.replace(":", "").isdigit():
        # Rootless Podman: the container's uid (e.g. 1000 for firmware builds) is the calling
        # user, so files it writes in bind mounts are the user's, not a subordinate id's.
        uid, _, gid = spec.user.partition(":")
        hc["UsernsMode"] = f"keep-id:uid={uid},gid={gid or uid}"
    if "systempaths=unconfined" in spec.security_opt and not podman:
        # What the CLI's --security-opt systempaths=unconfined means (no SDK keyword).
        hc["MaskedPaths"], hc["ReadonlyPaths"] = [], []
    return hc


class Engine:
    """A Docker or Podman engine: connected at once (`connect`) or on first use (`on_demand`)."""

    def __init__(self, client: Any, kind: str = "docker") -> None:
        self._client = client
        self.kind = kind
        # Container output also goes to Runner.capture (output/logs/<step>.log, heartbeats)
        self.capture: Callable[[str], AbstractContextManager[Callable[[str], None]]] | None = None

    @property
    def podman(self) -> bool:
        return self.kind == "podman"

    def _captured(self, title: str) -> AbstractContextManager[Callable[[str], None]]:
        return self.capture(title) if self.capture else nullcontext(lambda text: None)

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._connected(self.kind)
        return self._client

    @classmethod
    def connect(cls, kind: str | None = None) -> Engine:
        """The engine (`kind`, default: enginekind.engine_kind()), or a one-line error when
        none answers."""
        kind = kind or engine_kind()
        return cls(cls._connected(kind), kind)

    @classmethod
    def on_demand(cls, kind: str | None = None) -> Engine:
        """The engine, connected when first asked: bad input is refused before that."""
        return cls(None, kind or engine_kind())

    @staticmethod
    def _connected(kind: str = "docker") -> Any:
        try:
            import docker

            if kind == "podman":
                client = docker.DockerClient(base_url=podman_socket(), timeout=600)
            else:
                client = docker.from_env(timeout=600)
            client.ping()
        except Exception as e:  # DockerException, connection errors, missing socket
            reason = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
            if kind == "podman":
                raise FwenvError(f"no Podman service answers on {podman_socket()} ({reason}): "
                                 f"{fix_podman(podman_socket())}") from None
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

    def save_image(self, ref: str, dest: Path) -> None:  # `docker save REF`, streamed to dest
        with open(dest, "wb") as f:
            f.writelines(self.client.images.get(ref).save(named=True))

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
            with self._captured(f"docker run {spec.image}") as feed:
                code = self._stream(container, spec, chunks, feed, on_line)
            return code, "".join(chunks)
        finally:
            self._remove(container)

    def stream(self, spec: ContainerSpec, out: BinaryIO, err: BinaryIO) -> int:
        """Run a container to completion with its stdout, byte for byte, to `out` and its
        stderr to `err` (a pack on stdout, everything else apart); always remove it."""
        container = self.create(spec)
        try:
            sock = self.client.api.attach(container.id, stream=True, stdout=True, stderr=True,
                                          logs=True, demux=True)
            container.start()
            for o, e in sock:
                if o:
                    out.write(o)
                if e:
                    err.write(e)
                    err.flush()
            out.flush()
            return int(container.wait()["StatusCode"])
        finally:
            self._remove(container)

    @staticmethod
    def _stream(container: Any, spec: ContainerSpec, chunks: list[str],
                feed: Callable[[str], None], on_line: Callable[[str], None] | None) -> int:
        """Follow a container's output to its end (into chunks, the log and on_line)."""
        buf = ""
        feed(f"$ docker run {spec.image} {' '.join(spec.command)}\n")
        for raw in container.logs(stream=True, follow=True):
            text = raw.decode("utf-8", "replace")
            chunks.append(text)
            feed(text)
            if on_line:
                buf += text
                *lines, buf = buf.split("\n")
                for ln in lines:
                    on_line(ln)
        if on_line and buf:
            on_line(buf)
        return int(container.wait()["StatusCode"])

    def create(self, spec: ContainerSpec, name: str | None = None) -> Any:
        import docker.errors

        api = self.client.api
        try:
            resp = api.create_container(
                spec.image, command=list(spec.command) or None, environment=dict(spec.env),
                working_dir=spec.workdir, user=spec.user or None,
                entrypoint=list(spec.entrypoint) if spec.entrypoint is not None else None,
                labels={"org.fwenv.ephemeral": "1", **spec.labels},
                host_config=host_config(spec, api, self.podman), name=name,
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
        with self._captured(f"docker exec {argv[0]}") as feed:
            feed(f"$ docker exec {' '.join(argv)}\n")
            for raw in api.exec_start(exec_id, stream=True):
                text = raw.decode("utf-8", "replace")
                chunks.append(text)
                feed(text)
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
