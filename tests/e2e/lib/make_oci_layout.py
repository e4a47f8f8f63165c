#!/usr/bin/env python3
"""Write an OCI image layout with random, uncompressed tar layers of the given sizes.

Layers are streamed (random bytes -> tar -> sha256 -> file) so a 1 GiB layer never sits in memory.
Usage: make_oci_layout.py OUT --tag v1 --layers 1024,1048576,64M
"""
import argparse
import hashlib
import json
import os
import tarfile

CHUNK = 1 << 20
UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def parse_size(text):
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = text[-1] if text and text[-1] in UNITS else ""
    return int(text[: len(text) - len(unit)]) * UNITS[unit]


class RandomReader:
    """A file-like object of `size` random bytes, produced on demand."""

    def __init__(self, size):
        self.left = size

    def read(self, n=-1):
        n = self.left if n is None or n < 0 else min(n, self.left)
        self.left -= n
        return os.urandom(n)


class HashingWriter:
    """Writes to a file and hashes what passes, so the digest is known without a second read."""

    def __init__(self, f):
        self.f, self.sha, self.size = f, hashlib.sha256(), 0

    def write(self, data):
        self.sha.update(data)
        self.size += len(data)
        return self.f.write(data)


def write_blob(blobs, produce):
    """Run produce(writer) into a temporary file, then name the file by its digest."""
    tmp = os.path.join(blobs, ".partial")
    with open(tmp, "wb") as f:
        w = HashingWriter(f)
        produce(w)
    digest = w.sha.hexdigest()
    os.replace(tmp, os.path.join(blobs, digest))
    return "sha256:" + digest, w.size


def write_json_blob(blobs, obj):
    data = json.dumps(obj, separators=(",", ":")).encode()
    return write_blob(blobs, lambda w: w.write(data)) + (data,)


def write_layer(blobs, index, size):
    def produce(w):
        with tarfile.open(fileobj=w, mode="w|", format=tarfile.PAX_FORMAT, bufsize=CHUNK) as tar:
            info = tarfile.TarInfo(f"layer{index}.bin")
            info.size, info.mode, info.mtime = size, 0o644, 0
            tar.addfile(info, RandomReader(size))

    return write_blob(blobs, produce)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--tag", default="v1")
    ap.add_argument("--layers", required=True, help="comma-separated sizes in bytes (K, M, G suffixes allowed)")
    args = ap.parse_args()

    blobs = os.path.join(args.out, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)
    layers = []
    for i, size in enumerate(parse_size(s) for s in args.layers.split(",")):
        digest, blob_size = write_layer(blobs, i, size)
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest, "size": blob_size})

    # Uncompressed layers: the diff_id of each layer is its own digest.
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]},
    }
    config_digest, config_size, _ = write_json_blob(blobs, config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
        "layers": layers,
    }
    manifest_digest, manifest_size, _ = write_json_blob(blobs, manifest)

    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest,
            "size": manifest_size,
            "annotations": {"org.opencontainers.image.ref.name": args.tag},
        }],
    }
    with open(os.path.join(args.out, "index.json"), "w") as f:
        json.dump(index, f)
    with open(os.path.join(args.out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    print(manifest_digest)


if __name__ == "__main__":
    main()
