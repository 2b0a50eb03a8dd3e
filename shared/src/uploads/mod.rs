//! File uploads: S3 holds the bytes, PostgreSQL who owns each file and what it belongs to.
//!
//! - [`policy`]: what may be uploaded (kinds, names, sizes) and the keys objects get.
//!
//! (The routes, ownership checks and the cleanup job build on this: issue 18.)

pub mod policy;
