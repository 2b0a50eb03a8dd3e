//! File uploads: S3 holds the bytes, PostgreSQL who owns each file and what it belongs to.
//!
//! - [`policy`]: what may be uploaded (kinds, names, sizes) and the keys objects get.
//! - [`sign`]: issuing an upload (a `PENDING` row and a presigned PUT).
//! - [`complete`]: checking the uploaded object and making the upload `ACTIVE`.
//! - [`read`]: a presigned download for those who may see the file.
//!
//! (Lists, deletion, proof of delivery and the cleanup job build on this: issue 18.)

pub mod complete;
pub mod policy;
pub mod read;
pub mod sign;

use crate::text_enum::text_enum;

text_enum! {
    /// What a file is attached to.
    pub enum EntityType("entity type") {
        Order = "order",
        User = "user",
    }
}

text_enum! {
    /// Where an upload stands: issued but not checked, or checked and in use.
    pub enum UploadStatus("upload status") {
        Pending = "PENDING",
        Active = "ACTIVE",
    }
}
