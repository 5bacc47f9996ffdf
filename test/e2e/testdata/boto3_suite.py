"""boto3 end-to-end checks against a running dewar.

usage: boto3_suite.py ENDPOINT CA_FILE_OR_EMPTY BUCKET SPEC_JSON

SPEC_JSON names the fixtures: {"small": path, "big": path, "keys": [...],
"flat": [...], "prefixes": [...], "prefix": "many/", "dirs_prefix": "dirs/",
"dirs": [...], "workdir": path}.
The bucket exists and holds the listing tree. Every check runs, in order;
the script prints one JSON object {check: "ok" | "error text"} and exits 0,
so the Go test reports each check on its own.
"""
import base64
import hashlib
import json
import os
import sys
import struct
import traceback
import zlib

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, ca, bucket, spec_file = sys.argv[1:5]
with open(spec_file, encoding="utf-8") as f:
    spec = json.load(f)
verify = ca or None
s3 = boto3.client("s3", endpoint_url=endpoint, verify=verify,
                  config=Config(retries={"max_attempts": 1}))
MiB = 1 << 20
transfer = TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(MiB), b""):
            h.update(chunk)
    return h.hexdigest()


def read(path, off=0, n=None):
    with open(path, "rb") as f:
        f.seek(off)
        return f.read() if n is None else f.read(n)


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def expect_error(code, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except ClientError as e:
        got = e.response["Error"]["Code"]
        expect(got == code, "error %s, want %s" % (got, code))
        return e
    raise AssertionError("no error, want %s" % code)


def set_diff(what, got, want):
    g, w = set(got), set(want)
    expect(len(got) == len(g), "%s: %d duplicates" % (what, len(got) - len(g)))
    expect(g == w, "%s: %d entries, want %d; missing %r; extra %r" % (
        what, len(g), len(w), sorted(w - g)[:5], sorted(g - w)[:5]))


def check_put_get_metadata():
    body = read(spec["small"])
    s3.put_object(Bucket=bucket, Key="b3/small", Body=body,
                  Metadata={"notes": "from boto3", "Mixed-Case": "Value"}, ContentType="text/x-kit")
    h = s3.head_object(Bucket=bucket, Key="b3/small")
    expect(h["Metadata"] == {"notes": "from boto3", "mixed-case": "Value"}, "Metadata %r" % h["Metadata"])
    expect(h["ContentType"] == "text/x-kit", "ContentType %r" % h["ContentType"])
    g = s3.get_object(Bucket=bucket, Key="b3/small", ChecksumMode="ENABLED")
    expect(g["Body"].read() == body, "GET body differs")
    expect(g["Metadata"] == {"notes": "from boto3", "mixed-case": "Value"}, "GET Metadata %r" % g["Metadata"])
    expect("ChecksumCRC32" in g, "GET with ChecksumMode has no ChecksumCRC32: %r" % sorted(g))


def check_multipart_upload_download():
    s3.upload_file(spec["big"], bucket, "b3/big", Config=transfer)
    h = s3.head_object(Bucket=bucket, Key="b3/big")
    expect(h["ETag"].endswith('-5"'), "ETag %s, want 5 parts" % h["ETag"])
    expect(h["ContentLength"] == os.path.getsize(spec["big"]), "ContentLength %d" % h["ContentLength"])
    out = os.path.join(spec["workdir"], "boto3-big")
    s3.download_file(bucket, "b3/big", out, Config=transfer)
    expect(sha256_file(out) == sha256_file(spec["big"]), "downloaded big differs")
    # A single GET of the whole multipart object, its parts by number.
    g = s3.get_object(Bucket=bucket, Key="b3/big")
    expect(hashlib.sha256(g["Body"].read()).hexdigest() == sha256_file(spec["big"]), "GET big differs")
    p = s3.get_object(Bucket=bucket, Key="b3/big", PartNumber=2)
    expect(p["Body"].read() == read(spec["big"], 8 * MiB, 8 * MiB), "PartNumber=2 bytes differ")
    expect(p["PartsCount"] == 5, "PartsCount %r" % p.get("PartsCount"))


def check_list_over_1000():
    pag = s3.get_paginator("list_objects_v2")
    keys, pages = [], 0
    for page in pag.paginate(Bucket=bucket, Prefix=spec["prefix"]):
        pages += 1
        keys += [o["Key"] for o in page.get("Contents", [])]
    expect(pages >= 2, "%d pages for more than 1000 keys" % pages)
    set_diff("list_objects_v2", keys, spec["keys"])
    keys, prefixes = [], []
    for page in pag.paginate(Bucket=bucket, Prefix=spec["prefix"], Delimiter="/"):
        keys += [o["Key"] for o in page.get("Contents", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    set_diff("list_objects_v2 delimiter keys", keys, spec["flat"])
    set_diff("list_objects_v2 delimiter prefixes", prefixes, spec["prefixes"])
    # Small pages: continuation tokens across odd keys.
    keys = []
    for page in pag.paginate(Bucket=bucket, Prefix=spec["prefix"], PaginationConfig={"PageSize": 97}):
        keys += [o["Key"] for o in page.get("Contents", [])]
    set_diff("list_objects_v2 page size 97", keys, spec["keys"])
    # v1 without a delimiter: no NextMarker, the client continues from the last key.
    keys = []
    for page in s3.get_paginator("list_objects").paginate(Bucket=bucket, Prefix=spec["prefix"]):
        keys += [o["Key"] for o in page.get("Contents", [])]
    set_diff("list_objects (v1)", keys, spec["keys"])
    keys, prefixes = [], []
    for page in s3.get_paginator("list_objects").paginate(Bucket=bucket, Prefix=spec["prefix"], Delimiter="/"):
        keys += [o["Key"] for o in page.get("Contents", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
    set_diff("list_objects (v1) delimiter keys", keys, spec["flat"])
    set_diff("list_objects (v1) delimiter prefixes", prefixes, spec["prefixes"])
    # More than 1000 common prefixes: pages end on a prefix.
    for op in ("list_objects_v2", "list_objects"):
        for size in (1000, 13):
            keys, prefixes = [], []
            for page in s3.get_paginator(op).paginate(Bucket=bucket, Prefix=spec["dirs_prefix"], Delimiter="/",
                                                      PaginationConfig={"PageSize": size}):
                keys += [o["Key"] for o in page.get("Contents", [])]
                prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
            expect(not keys, "%s of %s: %d keys" % (op, spec["dirs_prefix"], len(keys)))
            set_diff("%s page size %d over 1000 prefixes" % (op, size), prefixes, spec["dirs"])


def check_odd_keys_round_trip():
    for k in spec["keys"][:17] + spec["keys"][-10:]:
        body = s3.get_object(Bucket=bucket, Key=k)["Body"].read()
        expect(body == k.encode("utf-8"), "GET %r returned %r" % (k, body[:80]))


def check_ranged_get():
    big = spec["big"]
    size = os.path.getsize(big)
    for rng, off, n in (("bytes=1000-2999", 1000, 2000), ("bytes=-100", size - 100, 100),
                        ("bytes=%d-" % (size - 10), size - 10, 10), ("bytes=0-0", 0, 1),
                        ("bytes=8388600-8388700", 8388600, 101)):
        g = s3.get_object(Bucket=bucket, Key="b3/big", Range=rng)
        expect(g["Body"].read() == read(big, off, n), "Range %s: bytes differ" % rng)
        want = "bytes %d-%d/%d" % (off, off + n - 1, size)
        expect(g["ContentRange"] == want, "Range %s: Content-Range %r, want %r" % (rng, g["ContentRange"], want))
    expect_error("InvalidRange", s3.get_object, Bucket=bucket, Key="b3/big", Range="bytes=%d-" % size)
    etag = s3.head_object(Bucket=bucket, Key="b3/big")["ETag"]
    g = s3.get_object(Bucket=bucket, Key="b3/big", Range="bytes=5-9", IfMatch=etag)
    expect(g["Body"].read() == read(big, 5, 5), "Range with If-Match: bytes differ")


def check_copy():
    s3.copy_object(Bucket=bucket, Key="b3/copy-same", CopySource={"Bucket": bucket, "Key": "b3/small"})
    h = s3.head_object(Bucket=bucket, Key="b3/copy-same")
    expect(h["Metadata"] == {"notes": "from boto3", "mixed-case": "Value"}, "COPY Metadata %r" % h["Metadata"])
    s3.copy_object(Bucket=bucket, Key="b3/copy-new", CopySource={"Bucket": bucket, "Key": "b3/small"},
                   MetadataDirective="REPLACE", Metadata={"other": "x"}, ContentType="text/plain")
    h = s3.head_object(Bucket=bucket, Key="b3/copy-new")
    expect(h["Metadata"] == {"other": "x"} and h["ContentType"] == "text/plain",
           "REPLACE Metadata %r ContentType %r" % (h["Metadata"], h["ContentType"]))
    # Managed copy above the threshold: UploadPartCopy.
    s3.copy({"Bucket": bucket, "Key": "b3/big"}, bucket, "b3/big-copy", Config=transfer)
    g = s3.get_object(Bucket=bucket, Key="b3/big-copy")
    expect(hashlib.sha256(g["Body"].read()).hexdigest() == sha256_file(spec["big"]), "copied big differs")


def check_delete_objects():
    keys = spec["keys"]
    for i in range(0, len(keys), 1000):
        r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[i:i + 1000]]})
        expect(not r.get("Errors"), "DeleteObjects errors %r" % r.get("Errors", [])[:3])
        expect(len(r.get("Deleted", [])) == len(keys[i:i + 1000]), "Deleted %d" % len(r.get("Deleted", [])))
    left = s3.list_objects_v2(Bucket=bucket, Prefix=spec["prefix"])
    expect(left["KeyCount"] == 0, "%d keys left after delete_objects" % left["KeyCount"])
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "b3/copy-same"}, {"Key": "b3/never"}], "Quiet": True})
    expect(not r.get("Deleted") and not r.get("Errors"), "quiet delete answered %r" % r)
    expect_error("404", s3.head_object, Bucket=bucket, Key="b3/copy-same")


def composite(alg, path, part_size):
    """The COMPOSITE checksum S3 gives a multipart object: the checksum of
    the parts' binary checksums, then "-<parts>"."""
    def digest(b):
        if alg == "CRC32":
            return struct.pack(">I", zlib.crc32(b))
        return hashlib.new(alg.lower(), b).digest()
    data = read(path)
    parts = [data[i:i + part_size] for i in range(0, len(data), part_size)]
    return base64.b64encode(digest(b"".join(digest(p) for p in parts))).decode() + "-%d" % len(parts)


def check_flexible_checksums():
    for alg in ("CRC32", "SHA256", "SHA1"):
        key = "b3/checksum-" + alg
        s3.upload_file(spec["big"], bucket, key, Config=transfer, ExtraArgs={"ChecksumAlgorithm": alg})
        h = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        want = composite(alg, spec["big"], 8 * MiB)
        expect(h.get("Checksum" + alg) == want and h.get("ChecksumType") == "COMPOSITE",
               "multipart %s: %r %r, want %s COMPOSITE" % (alg, h.get("Checksum" + alg), h.get("ChecksumType"), want))
        s3.put_object(Bucket=bucket, Key=key + "-single", Body=b"hello", ChecksumAlgorithm=alg)
        g = s3.get_object(Bucket=bucket, Key=key + "-single", ChecksumMode="ENABLED")
        expect(g["Body"].read() == b"hello", "single %s: body differs" % alg)
        want = base64.b64encode(struct.pack(">I", zlib.crc32(b"hello")) if alg == "CRC32"
                                else hashlib.new(alg.lower(), b"hello").digest()).decode()
        expect(g.get("Checksum" + alg) == want and g.get("ChecksumType") == "FULL_OBJECT",
               "single %s: %r %r, want %s FULL_OBJECT" % (alg, g.get("Checksum" + alg), g.get("ChecksumType"), want))


def check_bad_content_md5_creates_nothing():
    expect_error("BadDigest", s3.put_object, Bucket=bucket, Key="b3/bad-md5", Body=b"not hello",
                 ContentMD5="XUFAKrxLKna5cZ2REBfFkg==")  # the MD5 of b"hello"
    expect_error("404", s3.head_object, Bucket=bucket, Key="b3/bad-md5")


CHECKS = [check_put_get_metadata, check_multipart_upload_download, check_list_over_1000,
          check_odd_keys_round_trip, check_ranged_get, check_copy, check_delete_objects,
          check_flexible_checksums, check_bad_content_md5_creates_nothing]

results = {}
for check in CHECKS:
    name = check.__name__[len("check_"):]
    try:
        check()
        results[name] = "ok"
    except Exception:
        results[name] = traceback.format_exc(limit=3)
print(json.dumps(results))
