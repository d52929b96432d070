"""The S3/R2/MinIO media backend (boto3), chosen by `MediaResource` when MEDIA_S3_BUCKET is set.

Every call has explicit connect/read timeouts and botocore's standard retry mode (throttling, 5xx and
connection errors are retried with backoff). Keys are the same plain relative paths as on the local
folder; the store may live under a key prefix inside the bucket, which callers never see. Listing
streams pages of up to 1,000 keys; deletion goes through DeleteObjects in batches of at most 1,000
and returns the per-key errors S3 reports.
"""

from __future__ import annotations

from datetime import timezone
from typing import Iterator

from resources.media import MediaObject, MediaStore, check_key, unsafe_key_reason

# DeleteObjects accepts at most 1,000 keys per request.
DELETE_BATCH = 1000


class S3MediaStore(MediaStore):
    def __init__(
        self,
        bucket: str,
        endpoint_url: str | None = None,
        prefix: str = "",
        *,
        region_name: str | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 5,
        client=None,
    ):
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        if prefix and unsafe_key_reason(prefix.rstrip("/")):
            raise ValueError(f"S3 key prefix {prefix!r} is not a plain relative path")
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.prefix = prefix
        self.location = f"s3://{bucket}/{prefix}" + (f" at {endpoint_url}" if endpoint_url else "")
        self._region_name = region_name
        self._timeouts = (connect_timeout, read_timeout, max_attempts)
        self._client = client

    @property
    def client(self):
        """The boto3 client, created on first use (boto3 is imported only here)."""
        if self._client is None:
            import boto3
            from botocore.config import Config

            connect_timeout, read_timeout, max_attempts = self._timeouts
            self._client = boto3.client(
                "s3",
                endpoint_url=self.endpoint_url or None,
                region_name=self._region_name,
                config=Config(
                    connect_timeout=connect_timeout,
                    read_timeout=read_timeout,
                    retries={"mode": "standard", "max_attempts": max_attempts},
                    max_pool_connections=20,
                ),
            )
        return self._client

    def _full(self, key: str) -> str:
        return self.prefix + check_key(key)

    def read_bytes(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._full(key))["Body"].read()
        except ClientError as exc:
            if _error_code(exc) in ("NoSuchKey", "404"):
                raise FileNotFoundError(f"media key {key!r} not found in {self.location}") from None
            raise

    def write_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._full(key), Body=data)

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        if unsafe_key_reason(key):
            return False
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._full(key))
            return True
        except ClientError as exc:
            if _error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def iter_objects(self, prefix: str = "") -> Iterator[MediaObject]:
        # botocore asks for EncodingType=url and decodes the keys, so keys with control characters
        # (reported as unsafe by the callers) survive the XML listing intact.
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix, PaginationConfig={"PageSize": DELETE_BATCH}
        )
        strip = len(self.prefix)
        for page in pages:
            for item in page.get("Contents", ()):
                yield MediaObject(item["Key"][strip:], int(item["Size"]), item["LastModified"].astimezone(timezone.utc))

    def delete_many(self, keys: list[str]) -> dict[str, str]:
        from botocore.exceptions import BotoCoreError, ClientError

        errors: dict[str, str] = {}
        safe: list[str] = []
        for key in keys:
            reason = unsafe_key_reason(key)
            if reason:
                errors[key] = f"refused: {reason}"
            else:
                safe.append(key)
        for start in range(0, len(safe), DELETE_BATCH):
            batch = safe[start : start + DELETE_BATCH]
            try:
                response = self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": self.prefix + key} for key in batch], "Quiet": True},
                )
            except (ClientError, BotoCoreError) as exc:
                errors.update({key: f"batch failed: {exc}" for key in batch})
                continue
            strip = len(self.prefix)
            for err in response.get("Errors", ()):
                errors[err["Key"][strip:]] = f"{err.get('Code', 'Error')}: {err.get('Message', '')}".strip()
        return errors

    def move(self, key: str, new_key: str) -> None:
        """Copy then delete (S3 has no rename); the copy gets a fresh LastModified."""
        source, target = self._full(key), self._full(new_key)
        self.client.copy_object(Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": source})
        self.client.delete_object(Bucket=self.bucket, Key=source)


def _error_code(exc) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
