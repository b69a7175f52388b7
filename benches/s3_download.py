"""Step one of the three-step path: download an object with boto3, as a user's script does."""
import sys

import boto3
from botocore.config import Config

url, secret, bucket, key, dest = sys.argv[1:6]
s3 = boto3.client("s3", endpoint_url=url, aws_access_key_id="test", aws_secret_access_key=secret,
                  region_name="us-east-1", config=Config(s3={"addressing_style": "path"}))
s3.download_file(bucket, key, dest)
