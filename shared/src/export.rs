//! CSV downloads (audit history, user lists): one header row, then rows whose cells are
//! made safe to open in a spreadsheet, as a `text/csv` attachment.

use http::{header, HeaderValue, StatusCode};
use lambda_http::{Body, Response};

use crate::error::{ApiError, ApiResult};

/// A spreadsheet runs a cell that starts with one of these as a formula; such cells get a
/// leading apostrophe (OWASP's advice for CSV injection).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

fn safe(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// A CSV document being written.
pub struct Csv {
    writer: csv::Writer<Vec<u8>>,
}

impl Csv {
    pub fn new(headers: &[&str]) -> ApiResult<Self> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(headers).map_err(ApiError::internal)?;
        Ok(Self { writer })
    }

    pub fn row<I, S>(&mut self, cells: I) -> ApiResult<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let cells: Vec<String> = cells
            .into_iter()
            .map(|c| safe(c.as_ref()).into_owned())
            .collect();
        self.writer.write_record(&cells).map_err(ApiError::internal)
    }

    pub fn finish(self) -> ApiResult<Vec<u8>> {
        self.writer
            .into_inner()
            .map_err(|e| ApiError::internal(e.to_string()))
    }
}

/// The download: `filename` as the attachment's name; `truncated` sets
/// `X-Export-Truncated: true` when the export stopped at its row limit.
pub fn response(filename: &str, bytes: Vec<u8>, truncated: bool) -> ApiResult<Response<Body>> {
    let mut response = Response::new(Body::Binary(bytes));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
        .map_err(ApiError::internal)?;
    headers.insert(header::CONTENT_DISPOSITION, disposition);
    if truncated {
        headers.insert("x-export-truncated", HeaderValue::from_static("true"));
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_defused_and_quoting_is_csv() {
        let mut csv = Csv::new(&["a", "b"]).expect("csv");
        csv.row(["=HYPERLINK(\"x\")", "plain, with comma"])
            .expect("row");
        csv.row(["-1", "@SUM(A1)"]).expect("row");
        let text = String::from_utf8(csv.finish().expect("finish")).expect("utf-8");
        assert_eq!(
            text,
            "a,b\n\"'=HYPERLINK(\"\"x\"\")\",\"plain, with comma\"\n'-1,'@SUM(A1)\n"
        );
    }
}
