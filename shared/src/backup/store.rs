//! Objects of the backups bucket, streamed: a writer that seals plain bytes and uploads
//! them in multipart parts as they fill (one part uploading while the next fills), and a
//! reader that checks an object's SHA-256 and every frame as it downloads.

use std::time::Duration;

use aws_sdk_s3::{
    primitives::ByteStream,
    types::{CompletedMultipartUpload, CompletedPart},
};
use sha2::{Digest, Sha256};
use tracing::Instrument;

use super::{
    format::{DataKey, Opener, Sealer},
    manifest::ObjectRef,
    BackupError,
};
use crate::AppState;

/// Bytes uploaded per multipart part at first (S3 wants at least 5 MiB for all but the
/// last). Parts grow by this much every 1000 parts, so the 10 000 parts S3 allows hold
/// 440 GB instead of 80 GB.
pub const PART_BYTES: usize = 8 << 20;

fn part_target(parts_done: usize) -> usize {
    PART_BYTES * (1 + parts_done / 1000)
}

/// An S3 client for long transfers: the API's two-second operation deadline suits a
/// request, not an 8 MiB part or a stream of gigabytes.
pub fn client(state: &AppState) -> aws_sdk_s3::Client {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(120))
        .operation_timeout(Duration::from_secs(600))
        .build();
    let config = aws_sdk_s3::config::Builder::from(&state.sdk)
        .force_path_style(state.config.aws.endpoint_url.is_some())
        .timeout_config(timeouts)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

fn storage(doing: String, err: &dyn std::error::Error) -> BackupError {
    BackupError::Storage {
        doing,
        reason: crate::error::chain(err),
    }
}

/// Writes one sealed object.
pub struct ObjectWriter {
    s3: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    number: u32,
    sealed_by: String,
    /// Taken by [`ObjectWriter::finish`].
    sealer: Option<Sealer>,
    part: Vec<u8>,
    upload_id: Option<String>,
    parts: Vec<CompletedPart>,
    /// The part being uploaded while the next one fills.
    in_flight: Option<tokio::task::JoinHandle<Result<CompletedPart, BackupError>>>,
    sha256: Sha256,
    stored: u64,
}

impl ObjectWriter {
    pub fn new(
        s3: &aws_sdk_s3::Client,
        bucket: &str,
        key: String,
        number: u32,
        data_key: &DataKey,
        backup_id: &str,
    ) -> Result<Self, BackupError> {
        Ok(Self {
            sealer: Some(Sealer::new(data_key, backup_id, &key, number)?),
            s3: s3.clone(),
            bucket: bucket.to_owned(),
            key,
            number,
            sealed_by: backup_id.to_owned(),
            part: Vec::with_capacity(PART_BYTES),
            upload_id: None,
            parts: Vec::new(),
            in_flight: None,
            sha256: Sha256::new(),
            stored: 0,
        })
    }

    pub async fn write(&mut self, plain: &[u8]) -> Result<(), BackupError> {
        let sealer = self
            .sealer
            .as_mut()
            .ok_or_else(|| BackupError::codec("write after finish"))?;
        let sealed = sealer.write(plain)?;
        self.push(&sealed).await
    }

    async fn push(&mut self, sealed: &[u8]) -> Result<(), BackupError> {
        self.sha256.update(sealed);
        self.stored += sealed.len() as u64;
        self.part.extend_from_slice(sealed);
        if self.part.len() >= part_target(self.parts.len()) {
            self.upload_part().await?;
        }
        Ok(())
    }

    async fn upload_part(&mut self) -> Result<(), BackupError> {
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let created = self
                    .s3
                    .create_multipart_upload()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .send()
                    .await
                    .map_err(|e| storage(format!("starting the upload of {}", self.key), &e))?;
                let id = created
                    .upload_id()
                    .filter(|id| !id.is_empty())
                    .ok_or_else(|| BackupError::Storage {
                        doing: format!("starting the upload of {}", self.key),
                        reason: "S3 returned no upload id".into(),
                    })?
                    .to_owned();
                self.upload_id = Some(id.clone());
                id
            }
        };
        // The part before this one goes on uploading while this one filled; it must be
        // done before another starts, so at most two parts are ever in memory.
        self.wait_for_upload().await?;
        let number = i32::try_from(self.parts.len() + 1).map_err(BackupError::codec)?;
        let body = std::mem::replace(&mut self.part, Vec::with_capacity(PART_BYTES));
        let upload = self
            .s3
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&upload_id)
            .part_number(number)
            .body(ByteStream::from(body));
        let key = self.key.clone();
        let span = tracing::info_span!("s3_upload_part", object = %key, part = number);
        let uploaded = async move {
            let uploaded = upload
                .send()
                .await
                .map_err(|e| storage(format!("uploading part {number} of {key}"), &e))?;
            Ok(CompletedPart::builder()
                .part_number(number)
                .set_e_tag(uploaded.e_tag().map(str::to_owned))
                .build())
        };
        self.in_flight = Some(tokio::spawn(uploaded.instrument(span)));
        Ok(())
    }

    /// Waits for the part being uploaded, if any, and records it.
    async fn wait_for_upload(&mut self) -> Result<(), BackupError> {
        if let Some(upload) = self.in_flight.take() {
            let part = upload.await.map_err(|e| BackupError::Storage {
                doing: format!("uploading a part of {}", self.key),
                reason: e.to_string(),
            })??;
            self.parts.push(part);
        }
        Ok(())
    }

    /// Seals the tail, completes the upload and returns the object's reference and the
    /// count of plain bytes written. A failed writer should be [`ObjectWriter::abort`]ed.
    #[tracing::instrument(name = "s3_finish_upload", skip_all, fields(object = %self.key))]
    pub async fn finish(mut self) -> Result<(ObjectRef, u64), BackupError> {
        let sealer = self
            .sealer
            .take()
            .ok_or_else(|| BackupError::codec("finished twice"))?;
        let (tail, plain) = sealer.finish()?;
        self.sha256.update(&tail);
        self.stored += tail.len() as u64;
        self.part.extend_from_slice(&tail);
        match self.upload_id.clone() {
            None => {
                let body = std::mem::take(&mut self.part);
                self.s3
                    .put_object()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .body(ByteStream::from(body))
                    .send()
                    .await
                    .map_err(|e| storage(format!("writing {}", self.key), &e))?;
            }
            Some(upload_id) => {
                if !self.part.is_empty() {
                    self.upload_part().await?;
                }
                self.wait_for_upload().await?;
                self.s3
                    .complete_multipart_upload()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .upload_id(&upload_id)
                    .multipart_upload(
                        CompletedMultipartUpload::builder()
                            .set_parts(Some(std::mem::take(&mut self.parts)))
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(|e| storage(format!("completing {}", self.key), &e))?;
            }
        }
        let object = ObjectRef {
            key: self.key.clone(),
            number: self.number,
            sealed_by: self.sealed_by.clone(),
            bytes: self.stored,
            sha256: hex::encode(std::mem::take(&mut self.sha256).finalize()),
        };
        Ok((object, plain))
    }

    /// Drops a half-written multipart upload so its parts are not billed (the bucket's
    /// lifecycle rule catches any this misses).
    pub async fn abort(mut self) {
        if let Some(upload) = self.in_flight.take() {
            upload.abort();
        }
        if let Some(upload_id) = &self.upload_id {
            let _ = self
                .s3
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(upload_id)
                .send()
                .await;
        }
    }
}

/// Streams one object, checking it against its reference: [`ObjectReader::next`] hands
/// out plain bytes as frames open, and the end of the object proves its size and SHA-256.
/// A mismatch names the object. Bytes handed out before a failure must be discarded by
/// the caller (the restore does so by rolling back).
pub struct ObjectReader {
    body: ByteStream,
    opener: Option<Opener>,
    object: ObjectRef,
    pub plain_bytes: u64,
    pub stored_bytes: u64,
}

impl ObjectReader {
    /// Starts downloading `object`; the bytes follow through [`ObjectReader::next`].
    #[tracing::instrument(name = "s3_get_object", skip_all, fields(object = %object.key))]
    pub async fn open(
        s3: &aws_sdk_s3::Client,
        bucket: &str,
        object: &ObjectRef,
        data_key: &DataKey,
    ) -> Result<Self, BackupError> {
        let got = s3
            .get_object()
            .bucket(bucket)
            .key(&object.key)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(service) if service.is_no_such_key() => BackupError::Missing {
                    object: object.key.clone(),
                },
                _ => storage(format!("reading {}", object.key), &e),
            })?;
        Ok(Self {
            body: got.body,
            opener: Some(Opener::new(
                data_key,
                &object.sealed_by,
                &object.key,
                object.number,
            )?),
            object: object.clone(),
            plain_bytes: 0,
            stored_bytes: 0,
        })
    }

    /// The next plain bytes; `None` once the object has ended and proved whole.
    pub async fn next(&mut self) -> Result<Option<Vec<u8>>, BackupError> {
        loop {
            let Some(opener) = self.opener.as_mut() else {
                return Ok(None);
            };
            if let Some(plain) = opener.next_plain()? {
                self.plain_bytes += plain.len() as u64;
                return Ok(Some(plain));
            }
            let read = self
                .body
                .try_next()
                .await
                .map_err(|e| storage(format!("reading {}", self.object.key), &e))?;
            match read {
                Some(bytes) => {
                    self.stored_bytes += bytes.len() as u64;
                    opener.push(&bytes);
                }
                None => {
                    let opener = self
                        .opener
                        .take()
                        .ok_or_else(|| BackupError::codec("object read twice"))?;
                    let (rest, sha256, stored) = opener.finish()?;
                    if stored != self.object.bytes || sha256 != self.object.sha256 {
                        return Err(BackupError::Damaged {
                            object: self.object.key.clone(),
                            reason: format!(
                                "SHA-256 {sha256} over {stored} bytes, the manifest says {} over {}",
                                self.object.sha256, self.object.bytes
                            ),
                        });
                    }
                    if rest.is_empty() {
                        return Ok(None);
                    }
                    self.plain_bytes += rest.len() as u64;
                    return Ok(Some(rest));
                }
            }
        }
    }
}

/// Every key under `prefix`, with its size and last change.
#[tracing::instrument(name = "s3_list_objects", skip_all, fields(%prefix))]
pub async fn list(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<aws_sdk_s3::types::Object>, BackupError> {
    let mut objects = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| storage(format!("listing {bucket}/{prefix}"), &e))?;
        objects.extend(page.contents.unwrap_or_default());
    }
    Ok(objects)
}

/// Deletes keys, a thousand per request.
#[tracing::instrument(name = "s3_delete_objects", skip_all, fields(keys = keys.len()))]
pub async fn delete(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    keys: &[String],
) -> Result<(), BackupError> {
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};
    for batch in keys.chunks(1000) {
        let objects = batch
            .iter()
            .map(|key| ObjectIdentifier::builder().key(key).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(BackupError::codec)?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(BackupError::codec)?;
        let deleted = s3
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| {
                storage(
                    format!("deleting {} objects from {bucket}", batch.len()),
                    &e,
                )
            })?;
        // A quiet delete answers 200 and lists only the keys it could not delete.
        if let Some(failed) = deleted.errors().first() {
            return Err(BackupError::Storage {
                doing: format!(
                    "deleting {} from {bucket} ({} of {} keys failed)",
                    failed.key().unwrap_or("?"),
                    deleted.errors().len(),
                    batch.len()
                ),
                reason: failed.message().unwrap_or("no reason given").to_owned(),
            });
        }
    }
    Ok(())
}

/// A small JSON object, plain (manifests and verification records).
#[tracing::instrument(name = "s3_put_json", skip_all, fields(%key))]
pub async fn put_json(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    value: &impl serde::Serialize,
) -> Result<(), BackupError> {
    let body = serde_json::to_vec_pretty(value).map_err(BackupError::codec)?;
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/json")
        .body(ByteStream::from(body))
        .send()
        .await
        .map_err(|e| storage(format!("writing {key}"), &e))?;
    Ok(())
}

/// A small JSON object back; `None` when the key does not exist.
#[tracing::instrument(name = "s3_get_json", skip_all, fields(%key))]
pub async fn get_json<T: serde::de::DeserializeOwned>(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<T>, BackupError> {
    let got = match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(got) => got,
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
        Err(e) => return Err(storage(format!("reading {key}"), &e)),
    };
    let bytes = got
        .body
        .collect()
        .await
        .map_err(|e| storage(format!("reading {key}"), &e))?
        .into_bytes();
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| BackupError::ManifestInvalid(format!("{key}: {e}")))
}
