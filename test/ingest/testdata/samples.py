"""The samples and jobs buckets as boto3 sees them.

usage: samples.py ENDPOINT CA_FILE_OR_EMPTY SPEC_JSON
SPEC_JSON: {"sample": sha256, "job_file": "<job-id>/files/<path>",
"prefix": a sha256 prefix, "want": [every sample key with that prefix]}.
Prints {check: "ok" or what went wrong}.
"""
import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, ca, spec_file = sys.argv[1:4]
with open(spec_file, encoding="utf-8") as f:
    spec = json.load(f)
s3 = boto3.client("s3", endpoint_url=endpoint, verify=ca or None, config=Config(retries={"max_attempts": 1}))
checks = {}
META = {"sha256", "sha1", "md5", "size", "mime-type", "known-good", "first-seen", "job-count"}
# Fuzzy hashes appear once the file was analysed (TLSH needs 50 bytes).
FUZZY = {"ssdeep", "tlsh"}


def meta_ok(md, extra=frozenset()):
    """The names are exactly DESIGN.md's, lowercase, plus those expected."""
    return META | extra <= set(md) <= META | FUZZY | extra


def check(name, fn):
    try:
        fn()
        checks[name] = "ok"
    except Exception as e:  # reported to the Go test, which fails on it
        checks[name] = "%s: %r" % (type(e).__name__, e)


def safe_headers(resp, what):
    h = resp["ResponseMetadata"]["HTTPHeaders"]
    if resp["ContentType"] != "application/octet-stream":
        raise AssertionError("%s: Content-Type %r" % (what, resp["ContentType"]))
    if h.get("x-content-type-options") != "nosniff" or h.get("content-security-policy") != "sandbox":
        raise AssertionError("%s: headers %r" % (what, h))


def head_sample():
    r = s3.head_object(Bucket="samples", Key=spec["sample"])
    md = r["Metadata"]
    if not meta_ok(md):
        raise AssertionError("metadata keys %s, want %s (+ %s when analysed), lowercase" % (sorted(md), sorted(META), sorted(FUZZY)))
    if "ssdeep" not in md:
        raise AssertionError("no x-amz-meta-ssdeep: the sample was not analysed")
    if md["sha256"] != spec["sample"] or int(md["size"]) != r["ContentLength"] or r["ETag"].strip('"') != md["md5"]:
        raise AssertionError("metadata %r, length %d, ETag %s" % (md, r["ContentLength"], r["ETag"]))
    if md["known-good"] not in ("true", "false") or int(md["job-count"]) < 1 or not md["first-seen"].endswith("Z"):
        raise AssertionError("metadata %r" % md)
    safe_headers(r, "HEAD")


def get_sample():
    r = s3.get_object(Bucket="samples", Key=spec["sample"])
    import hashlib
    body = r["Body"].read()
    if hashlib.sha256(body).hexdigest() != spec["sample"]:
        raise AssertionError("body does not hash to its key")
    safe_headers(r, "GET")


def head_job_file():
    r = s3.head_object(Bucket="jobs", Key=spec["job_file"])
    md = r["Metadata"]
    if not meta_ok(md, {"job-id"}) or md["job-id"] != spec["job_file"].split("/")[0]:
        raise AssertionError("metadata %r" % md)
    safe_headers(r, "HEAD jobs")


def denied(fn):
    def run():
        try:
            fn()
        except ClientError as e:
            if e.response["Error"]["Code"] != "AccessDenied":
                raise
            return
        raise AssertionError("succeeded, want AccessDenied")
    return run


def list_v1():
    keys, pages = [], 0
    for page in s3.get_paginator("list_objects").paginate(Bucket="samples", Prefix=spec["prefix"], PaginationConfig={"PageSize": 3}):
        pages += 1
        keys += [o["Key"] for o in page.get("Contents", [])]
    if keys != sorted(spec["want"]) or pages < len(keys) // 3:
        raise AssertionError("%d keys in %d pages, want %d: %s" % (len(keys), pages, len(spec["want"]), keys[:5]))


def list_v2():
    keys, pages = [], 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="samples", Prefix=spec["prefix"], PaginationConfig={"PageSize": 2}):
        pages += 1
        keys += [o["Key"] for o in page.get("Contents", [])]
    if keys != sorted(spec["want"]) or pages < len(keys) // 2:
        raise AssertionError("%d keys in %d pages, want %d" % (len(keys), pages, len(spec["want"])))


check("head_sample", head_sample)
check("get_sample", get_sample)
check("head_job_file", head_job_file)
check("put_samples_denied", denied(lambda: s3.put_object(Bucket="samples", Key="0" * 64, Body=b"x")))
check("put_jobs_denied", denied(lambda: s3.put_object(Bucket="jobs", Key=spec["job_file"], Body=b"x")))
check("delete_samples_denied", denied(lambda: s3.delete_object(Bucket="samples", Key=spec["sample"])))
check("delete_jobs_denied", denied(lambda: s3.delete_object(Bucket="jobs", Key=spec["job_file"])))
check("multipart_jobs_denied", denied(lambda: s3.create_multipart_upload(Bucket="jobs", Key="x/files/y")))
check("list_v1_paged", list_v1)
check("list_v2_paged", list_v2)
print(json.dumps(checks))
