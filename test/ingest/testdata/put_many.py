"""Upload files into Dewar's incoming buckets with boto3, in parallel, and
report the job each answer names (x-dewar-job-id).

usage: put_many.py ENDPOINT CA_FILE_OR_EMPTY SPEC_JSON
SPEC_JSON is a list of {"bucket", "key", "file", "metadata"}; the output is
a JSON list of {"key", "job_id", "status"} in the same order.
"""
import json
import sys
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

endpoint, ca, spec_file = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=endpoint, verify=ca or None,
                  config=Config(max_pool_connections=8, retries={"max_attempts": 1}))
with open(spec_file, encoding="utf-8") as f:
    spec = json.load(f)


def put(item):
    with open(item["file"], "rb") as body:
        resp = s3.put_object(Bucket=item["bucket"], Key=item["key"], Body=body,
                             Metadata=item.get("metadata") or {})
    headers = resp["ResponseMetadata"]["HTTPHeaders"]
    return {"key": item["key"], "job_id": headers.get("x-dewar-job-id", ""),
            "status": headers.get("x-dewar-job-status", "")}


with ThreadPoolExecutor(4) as ex:
    print(json.dumps(list(ex.map(put, spec))))
