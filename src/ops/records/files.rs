//! Files sent with a create as `multipart/form-data` (vtiger 7's Documents
//! upload; javanile/vtiger-client and the n8n node send them so): each goes
//! to the module's file or image field of the same form name.
use rusqlite::Connection;

use crate::error::WsError;
use crate::http::params::Upload;
use crate::registry::{FieldType, ModuleDef};
use crate::store::attachments;
use crate::store::records::RecordWrite;
use crate::store::tables::has_column;

/// Whether a field holds a file.
pub fn is_file_field(kind: FieldType) -> bool {
    matches!(kind, FieldType::File | FieldType::Image)
}

/// The uploads `module` takes, each with the field it fills: a file sent
/// under a file field's name, or the one file sent when the module has one
/// file field.
pub fn accepted<'u>(module: &ModuleDef, files: &'u [Upload]) -> Vec<(String, &'u Upload)> {
    let fields: Vec<&str> = module
        .fields
        .iter()
        .filter(|f| is_file_field(f.kind))
        .map(|f| f.name.as_str())
        .collect();
    let named: Vec<(String, &Upload)> = files
        .iter()
        .filter(|u| fields.contains(&u.field.as_str()))
        .map(|u| (u.field.clone(), u))
        .collect();
    match (named.is_empty(), fields.as_slice(), files) {
        (true, [only], [file]) => vec![(only.to_string(), file)],
        _ => named,
    }
}

/// What the record says of its files: the file field holds the name, and
/// Documents' `filetype`, `filesize` and `filelocationtype` (`I`, stored
/// here) describe it. A file over the field's upload limit is refused.
pub fn describe(
    module: &ModuleDef,
    write: &mut RecordWrite,
    uploads: &[(String, &Upload)],
) -> Result<(), WsError> {
    for (field, upload) in uploads {
        let limit = module
            .fields
            .iter()
            .find(|f| &f.name == field)
            .and_then(|f| f.max_upload_file_size);
        if limit.is_some_and(|max| upload.data.len() as u64 > max) {
            return Err(WsError::InvalidFieldValue(format!(
                "Invalid value specified for {field}: the file is larger than {} bytes",
                limit.unwrap_or_default()
            )));
        }
        let mut set = |name: &str, value: String| {
            if module
                .fields
                .iter()
                .any(|f| f.name == name && has_column(module, f))
            {
                write.values.retain(|(n, _)| n != name);
                write.values.push((name.to_string(), Some(value)));
            }
        };
        set(field, upload.filename.clone());
        if module.fields.iter().any(|f| f.name == "filetype") {
            set("filetype", file_type(upload));
            set("filesize", upload.data.len().to_string());
            set("filelocationtype", "I".into());
        }
    }
    Ok(())
}

/// The part's content type, or the generic one.
pub fn file_type(upload: &Upload) -> String {
    upload
        .content_type
        .clone()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "application/octet-stream".into())
}

/// Stores the uploads of record `id` inside the caller's transaction.
pub fn store(
    tx: &Connection,
    id: i64,
    uploads: &[(String, &Upload)],
    now: i64,
) -> Result<(), WsError> {
    for (field, upload) in uploads {
        attachments::insert(
            tx,
            id,
            field,
            &upload.filename,
            &file_type(upload),
            &upload.data,
            now,
        )?;
    }
    Ok(())
}
