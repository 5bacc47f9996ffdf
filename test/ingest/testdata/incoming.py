"""Submission through Dewar's incoming buckets with boto3: the answers'
x-dewar-job-id (which the AWS CLI hides), multipart completion, and the
x-amz-meta-* checks (bad collected-at or hold: 400 InvalidArgument; a
non-admin naming another submitter: 403 AccessDenied).

usage: incoming.py ENDPOINT CA_FILE_OR_EMPTY SPEC_JSON
SPEC_JSON: {"bucket", "small", "big" (file paths), "user": [access, secret]}.
Prints {"jobs": {name: job_id}, "checks": {name: "ok" or what went wrong}}.
"""
import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

endpoint, ca, spec_file = sys.argv[1:4]
with open(spec_file, encoding="utf-8") as f:
    spec = json.load(f)
cfg = Config(retries={"max_attempts": 1})
root = boto3.client("s3", endpoint_url=endpoint, verify=ca or None, config=cfg)
user = boto3.client("s3", endpoint_url=endpoint, verify=ca or None, config=cfg,
                    aws_access_key_id=spec["user"][0], aws_secret_access_key=spec["user"][1])
bucket = spec["bucket"]
jobs, checks = {}, {}


def read(path):
    with open(path, "rb") as f:
        return f.read()


def job_of(resp, name):
    h = resp["ResponseMetadata"]["HTTPHeaders"]
    if not h.get("x-dewar-job-id"):
        raise AssertionError("%s: no x-dewar-job-id in %s" % (name, sorted(h)))
    jobs[name] = h["x-dewar-job-id"]
    return h


def check(name, fn):
    try:
        fn()
        checks[name] = "ok"
    except Exception as e:  # reported to the Go test, which fails on it
        checks[name] = "%s: %r" % (type(e).__name__, e)


def refused(name, code, status, fn):
    def run():
        try:
            fn()
        except ClientError as e:
            got = (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"])
            if got != (code, status):
                raise AssertionError("got %s, want %s" % (got, (code, status)))
            return
        raise AssertionError("succeeded, want %s %d" % (code, status))
    check(name, run)


def put():
    resp = root.put_object(Bucket=bucket, Key="boto3/put.zip", Body=read(spec["small"]),
                           Metadata={"notes": "put by boto3", "collected-at": "2026-02-03T04:05:06Z"})
    h = job_of(resp, "put")
    if h.get("x-dewar-job-status") != "queued":
        raise AssertionError("x-dewar-job-status %r" % h.get("x-dewar-job-status"))


def multipart():
    data = read(spec["big"])
    up = root.create_multipart_upload(Bucket=bucket, Key="boto3/multipart.zip", Metadata={"notes": "multipart by boto3"})
    parts, size = [], 5 << 20
    for i in range(0, len(data), size):
        n = i // size + 1
        r = root.upload_part(Bucket=bucket, Key="boto3/multipart.zip", UploadId=up["UploadId"], PartNumber=n, Body=data[i:i + size])
        parts.append({"PartNumber": n, "ETag": r["ETag"]})
    if len(parts) < 2:
        raise AssertionError("only %d part" % len(parts))
    resp = root.complete_multipart_upload(Bucket=bucket, Key="boto3/multipart.zip", UploadId=up["UploadId"],
                                          MultipartUpload={"Parts": parts})
    job_of(resp, "multipart")
    if not resp["ETag"].endswith('-%d"' % len(parts)):
        raise AssertionError("ETag %s" % resp["ETag"])


def own_name():
    resp = user.put_object(Bucket=bucket, Key="boto3/by-user.zip", Body=read(spec["small"]),
                           Metadata={"submitter": spec["user_name"]})
    job_of(resp, "user")


def as_admin():
    resp = root.put_object(Bucket=bucket, Key="boto3/for-alice.zip", Body=read(spec["small"]),
                           Metadata={"submitter": "alice"})
    job_of(resp, "for_alice")


check("put_job_id", put)
check("multipart_job_id", multipart)
check("user_own_name", own_name)
check("admin_names_submitter", as_admin)
small = read(spec["small"])
refused("bad_collected_at", "InvalidArgument", 400, lambda: root.put_object(
    Bucket=bucket, Key="boto3/bad-date.zip", Body=small, Metadata={"collected-at": "last tuesday"}))
refused("bad_hold", "InvalidArgument", 400, lambda: root.put_object(
    Bucket=bucket, Key="boto3/bad-hold.zip", Body=small, Metadata={"hold": "perhaps"}))
refused("bad_collected_at_multipart", "InvalidArgument", 400, lambda: root.create_multipart_upload(
    Bucket=bucket, Key="boto3/bad-date-mp.zip", Metadata={"collected-at": "2026-99-99"}))
refused("user_as_someone_else", "AccessDenied", 403, lambda: user.put_object(
    Bucket=bucket, Key="boto3/impostor.zip", Body=small, Metadata={"submitter": "alice"}))
refused("user_as_someone_else_multipart", "AccessDenied", 403, lambda: user.create_multipart_upload(
    Bucket=bucket, Key="boto3/impostor-mp.zip", Metadata={"submitter": "alice"}))
print(json.dumps({"jobs": jobs, "checks": checks}))
