"""`env.clean`: reclaim space: store volumes, environment images, packs in output/."""

from __future__ import annotations

from contextlib import nullcontext

from ..config import Config
from ..engine import Engine
from ..errors import FwenvError
from ..fsutil import output_lock, remove
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
            for prov in sorted(cfg.output_dir.glob("*.provenance.json")):
                rec = load_provenance(prov)
                targets = [prov] + ([cfg.output_dir / rec["tarball"]["file"]] if rec else [])
                for t in targets:
                    runner.show(f"rm -f {t}")
                    if not runner.dry_run and t.exists():
                        remove(t)
                        removed.append(str(t.relative_to(cfg.root)))
    return removed
