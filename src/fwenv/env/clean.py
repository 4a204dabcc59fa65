"""`env.clean`: reclaim space: store volumes, environment images, packs in output/."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

from ..config import Config
from ..engine import Engine
from ..errors import FwenvError
from ..fsutil import file_in, is_regular, output_lock, remove
from ..guix.pack import store_volumes
from ..guix.provenance import load_provenance
from ..plan import Runner


def clean(cfg: Config, runner: Runner, engine: Engine, *, store: bool = False,
          images: bool = False, output: bool = False) -> list[str]:
    """Remove what was asked; return what was removed (the engine is asked only for
    `store` and `images`)."""
    if not (store or images or output):
        raise FwenvError("nothing to clean: pass --store, --images and/or --output")
    removed: list[str] = []
    if store:
        for v in store_volumes(engine):
            engine.remove_volume(v)
            removed.append(f"volume {v}")
        runner.show("docker volume rm $(docker volume ls -q -f label=org.fwenv.role=guix-store)")
    if images:
        for t in engine.image_tags(cfg.env_image):
            engine.remove_image(t, force=False)
            removed.append(f"image {t}")
        runner.show(f"docker rmi $(docker images -q {cfg.env_image})")
    if output:
        with nullcontext() if runner.dry_run else output_lock(cfg.output_dir):
            for f in _output_files(cfg.output_dir):  # all checked before anything goes
                runner.show(f"rm -f {f}")
                if not runner.dry_run:
                    remove(f)
                    removed.append(_shown(f, cfg.root))
    return removed


def _output_files(out: Path) -> list[Path]:
    """Each pack provenance in `out` and the tarball it names: regular files directly in
    `out`, or a one-line refusal before anything is deleted."""
    files: list[Path] = []
    for prov in sorted(out.glob("*.provenance.json")):
        if not is_regular(prov):
            raise FwenvError(f"{prov.name} is not a regular file: remove it by hand "
                             "(nothing was deleted)")
        files.append(prov)
        rec = load_provenance(prov)
        if not rec:
            continue
        tarball = rec.get("tarball")
        named = tarball.get("file") if isinstance(tarball, dict) else None
        try:
            t = file_in(out, named)
        except ValueError:
            raise FwenvError(f"{prov.name} names {named!r}, not a file in {out}: remove "
                             f"{prov.name} by hand (nothing was deleted)") from None
        if t.is_symlink() or (t.exists() and not is_regular(t)):
            raise FwenvError(f"{prov.name} names {named!r}, not a regular file in {out}: "
                             f"remove it by hand (nothing was deleted)")
        if t.exists():
            files.append(t)
    return files


def _shown(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
