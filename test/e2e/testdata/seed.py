"""Create a bucket and put every key of a JSON list into it, in parallel.

usage: seed.py ENDPOINT CA_FILE_OR_EMPTY BUCKET KEYS_JSON
KEYS_JSON is {"keyed": [...], "empty": [...]}. A keyed object's body is its
key in UTF-8, so a mix-up between keys shows; the others are empty (one
shared blob, so seeding stays cheap).
"""
import json
import sys
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

endpoint, ca, bucket, keys_file = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, verify=ca or None,
                  config=Config(max_pool_connections=16, retries={"max_attempts": 1}))
with open(keys_file, encoding="utf-8") as f:
    keys = json.load(f)
try:
    s3.create_bucket(Bucket=bucket)
except s3.exceptions.BucketAlreadyOwnedByYou:
    pass
with ThreadPoolExecutor(16) as ex:
    bodies = [(k, k.encode("utf-8")) for k in keys["keyed"]] + [(k, b"") for k in keys["empty"]]
    for _ in ex.map(lambda kb: s3.put_object(Bucket=bucket, Key=kb[0], Body=kb[1]), bodies):
        pass
