"""Print boto3 presigned URLs as JSON.

usage: presign.py ENDPOINT CA_FILE_OR_EMPTY BUCKET GET_KEY PUT_KEY EXPIRES
boto3 presigns with SigV2 unless the client is configured for s3v4.
"""
import json
import sys

import boto3
from botocore.config import Config

endpoint, ca, bucket, get_key, put_key, expires = sys.argv[1:7]
expires = int(expires)
v2 = boto3.client("s3", endpoint_url=endpoint, verify=ca or None)
v4 = boto3.client("s3", endpoint_url=endpoint, verify=ca or None, config=Config(signature_version="s3v4"))
get = {"Bucket": bucket, "Key": get_key}
print(json.dumps({
    "v2_get": v2.generate_presigned_url("get_object", Params=get, ExpiresIn=expires),
    "v4_get": v4.generate_presigned_url("get_object", Params=get, ExpiresIn=expires),
    "v4_put": v4.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": put_key}, ExpiresIn=expires),
    "v2_put": v2.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": put_key + ".v2"}, ExpiresIn=expires),
}))
