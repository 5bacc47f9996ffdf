#!/usr/bin/env python3
"""Record real botocore-signed S3 requests as test fixtures.

Writes botocore_v2.json here (signature_version 's3', i.e. SigV2 header and
query auth as boto3 / aws CLI v1 use it) and ../../sigv4/testdata/botocore_v4.json
(signature_version 's3v4', header and presigned). The clock is frozen so the
signatures are reproducible (the aws CLI presign case uses the real clock
and records it); no request leaves the process (a before-send hook
captures each prepared request and answers it locally).

Run from this directory:  python3 gen_botocore.py
Made with boto3/botocore 1.43 (the versions CLIENTS.md describes).
"""

import base64
import datetime
import json
import os
import subprocess
import time
from unittest import mock

import boto3
import botocore
from botocore.awsrequest import AWSResponse
from botocore.config import Config

FIXED = 1741964966  # 2025-03-14T15:09:26Z
AK = "AKIAIOSFODNN7EXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
REGION = "us-east-1"
KEY = "dir/it's a b+c%d=e&f (1) [2] ~,;#@ ü 日本語 ☃.txt"


class _Raw:
    def stream(self, **kwargs):
        return iter([b""])


def client(sig, addressing="path", endpoint="http://127.0.0.1:9000", checksum="when_supported"):
    cfg = Config(
        signature_version=sig,
        s3={"addressing_style": addressing},
        request_checksum_calculation=checksum,
        retries={"max_attempts": 1},
    )
    c = boto3.client(
        "s3",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id=AK,
        aws_secret_access_key=SK,
        config=cfg,
    )
    return c


def capture(c, name, call, bucket_from_host=""):
    got = {}

    def before_send(request, **kwargs):
        body = request.body
        if hasattr(body, "read"):
            pos = body.tell() if hasattr(body, "tell") else 0
            data = body.read()
            if hasattr(body, "seek"):
                body.seek(pos)
            body = data
        if isinstance(body, str):
            body = body.encode()
        got["method"] = request.method
        got["url"] = request.url
        # amz-sdk-invocation-id is random and unsigned: dropped to keep the output reproducible.
        got["headers"] = [[k, v.decode() if isinstance(v, bytes) else str(v)] for k, v in request.headers.items()
                          if k.lower() != "amz-sdk-invocation-id"]
        got["body"] = base64.b64encode(body or b"").decode()
        return AWSResponse(request.url, 200, {}, _Raw())

    c.meta.events.register("before-send", before_send)
    try:
        call(c)
    except Exception:
        pass  # empty responses do not parse; only the request matters
    c.meta.events.unregister("before-send", before_send)
    return {"name": name, "now": FIXED, "virtual_host_bucket": bucket_from_host, "access_key": AK, **got}


def presigned(c, name, method, params, bucket_from_host="", expires=3600, http_method=None):
    url = c.generate_presigned_url(method, Params=params, ExpiresIn=expires, HttpMethod=http_method)
    verb = http_method or {"get_object": "GET", "put_object": "PUT", "head_object": "HEAD", "delete_object": "DELETE"}[method]
    return {
        "name": name,
        "now": FIXED + expires - 1,
        "virtual_host_bucket": bucket_from_host,
        "access_key": AK,
        "method": verb,
        "url": url,
        # a signed Content-Type must be sent by whoever uses the URL
        "headers": [["Content-Type", params["ContentType"]]] if "ContentType" in params else [],
        "body": "",
    }


def operations(c):
    b = "bucket"
    return [
        ("put_object", lambda c: c.put_object(Bucket=b, Key=KEY, Body=b"hello world", ContentType="text/plain",
                                              Metadata={"notes": "a  b", "submitter": "ana"})),
        ("put_object empty marker", lambda c: c.put_object(Bucket=b, Key="dir/", Body=b"", ContentType="application/x-directory")),
        ("put_object content-md5", lambda c: c.put_object(Bucket=b, Key="k", Body=b"x", ContentMD5="nZ1pEAYnDsRGe4Ut4wGtyA==")),
        ("get_object range", lambda c: c.get_object(Bucket=b, Key=KEY, Range="bytes=0-9", IfMatch='"abc"')),
        ("get_object version and overrides", lambda c: c.get_object(Bucket=b, Key="k", VersionId="v1+/=",
                                                                    ResponseContentType="text/plain",
                                                                    ResponseContentDisposition='attachment; filename="x y.txt"')),
        ("head_object", lambda c: c.head_object(Bucket=b, Key=KEY)),
        ("delete_object", lambda c: c.delete_object(Bucket=b, Key=KEY)),
        ("delete_objects", lambda c: c.delete_objects(Bucket=b, Delete={"Objects": [{"Key": KEY}, {"Key": "b"}]})),
        ("list_objects_v2", lambda c: c.list_objects_v2(Bucket=b, Prefix="dir/a b+c", Delimiter="/", StartAfter="ü")),
        ("list_objects v1", lambda c: c.list_objects(Bucket=b, Marker="m", MaxKeys=1000)),
        ("list_buckets", lambda c: c.list_buckets()),
        ("create_multipart_upload", lambda c: c.create_multipart_upload(Bucket=b, Key=KEY, ChecksumAlgorithm="CRC32")),
        ("upload_part", lambda c: c.upload_part(Bucket=b, Key=KEY, PartNumber=2, UploadId="up+id/==", Body=b"part")),
        ("list_parts", lambda c: c.list_parts(Bucket=b, Key=KEY, UploadId="up+id/==")),
        ("abort_multipart_upload", lambda c: c.abort_multipart_upload(Bucket=b, Key=KEY, UploadId="up")),
        ("get_bucket_acl", lambda c: c.get_bucket_acl(Bucket=b)),
        ("get_bucket_versioning", lambda c: c.get_bucket_versioning(Bucket=b)),
        ("get_bucket_location", lambda c: c.get_bucket_location(Bucket=b)),
        ("copy_object", lambda c: c.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": KEY},
                                                MetadataDirective="REPLACE", Metadata={"a": "1"})),
        ("create_bucket", lambda c: c.create_bucket(Bucket="newbucket")),
    ]


def record(sig):
    out = []
    path = client(sig)
    for name, call in operations(path):
        out.append(capture(path, name, call))
    vhost = client(sig, addressing="virtual", endpoint="http://s3.example.test")
    for name, call in operations(vhost)[:8]:
        out.append(capture(vhost, "virtual host " + name, call, bucket_from_host="bucket"))
    out.append(presigned(path, "presign get", "get_object", {"Bucket": "bucket", "Key": KEY}))
    out.append(presigned(path, "presign get overrides", "get_object",
                         {"Bucket": "bucket", "Key": "k", "ResponseContentDisposition": 'attachment; filename="a b"'}))
    out.append(presigned(path, "presign put", "put_object", {"Bucket": "bucket", "Key": KEY}))
    out.append(presigned(path, "presign put content-type", "put_object",
                         {"Bucket": "bucket", "Key": "k", "ContentType": "text/plain"}))
    out.append(presigned(path, "presign head", "head_object", {"Bucket": "bucket", "Key": KEY}))
    out.append(presigned(path, "presign delete", "delete_object", {"Bucket": "bucket", "Key": KEY}))
    out.append(presigned(vhost, "virtual host presign get", "get_object", {"Bucket": "bucket", "Key": KEY},
                         bucket_from_host="bucket"))
    return out


def aws_cli_presign():
    """The aws CLI v1 itself; its clock cannot be frozen, so record when."""
    env = dict(os.environ, AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK, AWS_DEFAULT_REGION=REGION,
               AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    now = int(time.time())
    url = subprocess.check_output(["aws", "s3", "presign", "s3://bucket/" + KEY, "--expires-in", "600",
                                   "--endpoint-url", "http://127.0.0.1:9000"], env=env, text=True).strip()
    return {"name": "aws cli v1 s3 presign", "now": now + 1, "virtual_host_bucket": "", "access_key": AK,
            "method": "GET", "url": url, "headers": [], "body": ""}


def main():
    fixed_dt = datetime.datetime.fromtimestamp(FIXED, datetime.timezone.utc).replace(tzinfo=None)
    with mock.patch("time.time", return_value=float(FIXED)), \
            mock.patch("botocore.auth.get_current_datetime", return_value=fixed_dt):
        v2 = record("s3")
        v4 = record("s3v4")
    try:
        v2.append(aws_cli_presign())
    except (OSError, subprocess.CalledProcessError) as e:
        print("aws CLI not available, skipping its presign fixture:", e)
    meta = {"generator": "gen_botocore.py", "botocore": botocore.__version__, "boto3": boto3.__version__}
    here = os.path.dirname(os.path.abspath(__file__))
    targets = [(os.path.join(here, "botocore_v2.json"), v2),
               (os.path.join(here, "..", "..", "sigv4", "testdata", "botocore_v4.json"), v4)]
    for path, cases in targets:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump({"meta": meta, "cases": cases}, f, indent=1, ensure_ascii=False)
            f.write("\n")
        print(path, len(cases), "cases")


if __name__ == "__main__":
    main()
