"""The peer of the cluster benchmark: boto3 moving the same bytes to and from the same S3.

    python -m bench.s3peer put FILE BUCKET KEY
    python -m bench.s3peer get BUCKET KEY FILE

Run as a process of its own (timed from outside, like ``coffre``), with the S3 endpoint and
keys in the AWS variables. ``put`` is boto3's ``upload_file`` (multipart, parallel parts);
``get`` is ``download_file`` (parallel ranged reads) and then fsyncs the file, as
``coffre get`` does.
"""

from __future__ import annotations

import os
import sys

import boto3
from botocore.config import Config


def main(argv: list[str]) -> int:
    s3 = boto3.client(
        "s3",
        config=Config(
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )
    if argv[0] == "put":
        path, bucket, key = argv[1:4]
        s3.upload_file(path, bucket, key)
    elif argv[0] == "get":
        bucket, key, path = argv[1:4]
        s3.download_file(bucket, key, path)
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    else:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
