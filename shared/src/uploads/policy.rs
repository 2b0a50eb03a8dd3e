//! What may be uploaded: one allow-list of file kinds where the declared content type and
//! the name's extension must agree, a size limit per category, names without path parts
//! or control characters, and object keys the server chooses
//! (`{entityType}/{entityId}/{uuid}.{ext}`), never the client's name.

use uuid::Uuid;

use crate::{error::FieldError, text_enum::text_enum};

/// Longest file name kept, in characters.
pub const MAX_NAME_CHARS: usize = 200;

text_enum! {
    /// What an upload is for; each category has its size limit.
    pub enum UploadCategory("upload category") {
        /// Proof-of-delivery photo.
        Pod = "POD",
        /// Recipient's signature.
        Signature = "SIGNATURE",
        /// Anything else attached to an order or an account.
        Document = "DOCUMENT",
        /// A driver applicant's licence, proof of insurance, vehicle registration, résumé.
        DriversLicense = "DRIVERS_LICENSE",
        Insurance = "INSURANCE",
        VehicleRegistration = "VEHICLE_REGISTRATION",
        Resume = "RESUME",
    }
}

impl UploadCategory {
    /// The largest upload of the category, in bytes.
    pub const fn max_bytes(self) -> i64 {
        match self {
            UploadCategory::Pod | UploadCategory::Signature => 5 * 1024 * 1024,
            UploadCategory::Document
            | UploadCategory::DriversLicense
            | UploadCategory::Insurance
            | UploadCategory::VehicleRegistration
            | UploadCategory::Resume => 10 * 1024 * 1024,
        }
    }

    /// Whether an applicant may upload a document of the category to its application.
    pub fn is_application_document(self) -> bool {
        !matches!(self, UploadCategory::Pod | UploadCategory::Signature)
    }

    /// Whether files of `kind` may be uploaded in the category (photos and signatures
    /// are images).
    pub fn accepts(self, kind: &FileKind) -> bool {
        match self {
            UploadCategory::Pod | UploadCategory::Signature => kind.is_image,
            UploadCategory::Document
            | UploadCategory::DriversLicense
            | UploadCategory::Insurance
            | UploadCategory::VehicleRegistration
            | UploadCategory::Resume => true,
        }
    }
}

/// One allowed kind of file: its content type and the extensions it may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileKind {
    pub content_type: &'static str,
    pub extensions: &'static [&'static str],
    pub is_image: bool,
}

/// Every kind of file the platform stores. Nothing executable, no HTML or SVG (they run
/// script when opened from the bucket's origin).
pub const FILE_KINDS: &[FileKind] = &[
    FileKind {
        content_type: "image/jpeg",
        extensions: &["jpg", "jpeg"],
        is_image: true,
    },
    FileKind {
        content_type: "image/png",
        extensions: &["png"],
        is_image: true,
    },
    FileKind {
        content_type: "image/webp",
        extensions: &["webp"],
        is_image: true,
    },
    FileKind {
        content_type: "image/gif",
        extensions: &["gif"],
        is_image: true,
    },
    FileKind {
        content_type: "application/pdf",
        extensions: &["pdf"],
        is_image: false,
    },
    FileKind {
        content_type: "application/msword",
        extensions: &["doc"],
        is_image: false,
    },
    FileKind {
        content_type: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        extensions: &["docx"],
        is_image: false,
    },
    FileKind {
        content_type: "application/vnd.ms-excel",
        extensions: &["xls"],
        is_image: false,
    },
    FileKind {
        content_type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        extensions: &["xlsx"],
        is_image: false,
    },
    FileKind {
        content_type: "text/csv",
        extensions: &["csv"],
        is_image: false,
    },
    FileKind {
        content_type: "text/plain",
        extensions: &["txt"],
        is_image: false,
    },
];

/// A file name a client may give: 1 to [`MAX_NAME_CHARS`] characters, no path parts
/// (`/`, `\`, a leading `.` or `..`), no control or bidirectional characters, and an
/// extension. Returns the name and its extension in lower case.
pub fn file_name(raw: &str) -> Result<(String, String), FieldError> {
    let invalid = |reason: &str| FieldError::new("fileName", reason);
    let name = raw.trim();
    if name.is_empty() {
        return Err(invalid("is required"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(&format!(
            "must be at most {MAX_NAME_CHARS} characters"
        )));
    }
    if name.contains(['/', '\\']) || name.starts_with('.') || name.contains("..") {
        return Err(invalid("must be a plain file name, without path parts"));
    }
    if name
        .chars()
        .any(|c| c.is_control() || crate::input::is_bidi_control(c))
    {
        return Err(invalid("contains control characters"));
    }
    let extension = name
        .rsplit_once('.')
        .map(|(stem, ext)| (stem, ext.to_ascii_lowercase()))
        .filter(|(stem, ext)| !stem.is_empty() && !ext.is_empty())
        .map(|(_, ext)| ext)
        .ok_or_else(|| invalid("must have an extension, such as .pdf or .jpg"))?;
    Ok((name.to_owned(), extension))
}

/// The allowed kind with this content type and extension, which must agree (`a.exe`
/// declared as `application/pdf` is refused, and so is `a.pdf` declared as `image/png`).
pub fn file_kind(content_type: &str, extension: &str) -> Result<&'static FileKind, FieldError> {
    let declared = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let kind = FILE_KINDS
        .iter()
        .find(|k| k.content_type == declared)
        .ok_or_else(|| {
            FieldError::new(
                "fileType",
                "is not an allowed file type (images, PDF, Office documents, CSV, text)",
            )
        })?;
    if !kind.extensions.contains(&extension) {
        return Err(FieldError::new(
            "fileName",
            format!(
                "the extension .{extension} does not match the declared type {}",
                kind.content_type
            ),
        ));
    }
    Ok(kind)
}

/// A declared size within the category's limit (and above zero).
pub fn file_size(bytes: i64, category: UploadCategory) -> Result<i64, FieldError> {
    let limit = category.max_bytes();
    if bytes <= 0 {
        return Err(FieldError::new("fileSize", "must be at least 1 byte"));
    }
    if bytes > limit {
        return Err(FieldError::new(
            "fileSize",
            format!(
                "must be at most {} MB for {}",
                limit / (1024 * 1024),
                category.as_str()
            ),
        ));
    }
    Ok(bytes)
}

/// The object key of an upload: chosen by the server, never from the client's name.
pub fn object_key(entity_type: &str, entity_id: Uuid, upload_id: Uuid, extension: &str) -> String {
    format!("{entity_type}/{entity_id}/{upload_id}.{extension}")
}

/// A `Content-Disposition` for downloading `name`: an ASCII fallback without quotes or
/// separators, and the exact name percent-encoded (RFC 6266 / 5987).
pub fn content_disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded =
        percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC).to_string();
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_file_names_with_an_extension() {
        assert_eq!(
            file_name(" Delivery Photo.JPG "),
            Ok(("Delivery Photo.JPG".to_owned(), "jpg".to_owned()))
        );
        for bad in [
            "",
            "../../etc/passwd.txt",
            "a/b.pdf",
            "a\\b.pdf",
            ".hidden.pdf",
            "noextension",
            "trailing.",
            "nul\u{0}.pdf",
            "evil\u{202e}fdp.exe",
        ] {
            assert!(file_name(bad).is_err(), "{bad:?}");
        }
        assert!(file_name(&format!("{}.pdf", "a".repeat(MAX_NAME_CHARS))).is_err());
    }

    #[test]
    fn type_and_extension_must_agree_on_an_allowed_kind() {
        assert_eq!(
            file_kind("application/pdf", "pdf").map(|k| k.content_type),
            Ok("application/pdf")
        );
        assert!(file_kind("image/jpeg; charset=binary", "jpeg").is_ok());
        assert_eq!(
            file_kind("application/pdf", "exe").map_err(|e| e.field),
            Err("fileName".into())
        );
        assert_eq!(
            file_kind("image/png", "pdf").map_err(|e| e.field),
            Err("fileName".into())
        );
        for never in [
            "application/x-msdownload",
            "text/html",
            "image/svg+xml",
            "application/javascript",
        ] {
            assert_eq!(
                file_kind(never, "exe").map_err(|e| e.field),
                Err("fileType".into()),
                "{never}"
            );
        }
    }

    #[test]
    fn sizes_are_limited_per_category() {
        assert!(file_size(5 * 1024 * 1024, UploadCategory::Pod).is_ok());
        assert!(file_size(5 * 1024 * 1024 + 1, UploadCategory::Pod).is_err());
        assert!(file_size(10 * 1024 * 1024, UploadCategory::Document).is_ok());
        assert!(file_size(10 * 1024 * 1024 + 1, UploadCategory::Document).is_err());
        assert!(file_size(0, UploadCategory::Document).is_err());
        let pdf = file_kind("application/pdf", "pdf").expect("pdf");
        assert!(!UploadCategory::Pod.accepts(pdf));
        assert!(UploadCategory::Document.accepts(pdf));
    }

    #[test]
    fn keys_ignore_the_clients_name_and_downloads_are_named_safely() {
        let (entity, upload) = (Uuid::nil(), Uuid::from_u128(1));
        assert_eq!(
            object_key("order", entity, upload, "pdf"),
            format!("order/{entity}/{upload}.pdf")
        );
        let disposition = content_disposition("re\"port\r\n;x.pdf");
        assert!(!disposition.contains('\r') && !disposition.contains('\n'));
        assert!(
            disposition.starts_with("attachment; filename=\"re_port___x.pdf\""),
            "{disposition}"
        );
        assert!(
            disposition.contains("filename*=UTF-8''re%22port%0D%0A%3Bx%2Epdf"),
            "{disposition}"
        );
    }
}
