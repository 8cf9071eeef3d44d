//! Safetensors header validation, by the format's specification (the huggingface/safetensors
//! README and its reference reader): an 8-byte little-endian header length N, N bytes of JSON,
//! then the data section, which the tensors must cover exactly.
//!
//! Checked: N within the file and at most 100 MB (the reference reader's limit); the header
//! is UTF-8 JSON starting with `{`; it is an object without duplicate keys; `__metadata__`, if
//! present, maps strings to strings; every other entry is a tensor `{dtype, shape,
//! data_offsets: [begin, end]}` with a known dtype, whose `end - begin` is exactly its element
//! count times the dtype's size (with overflow checks, and whole bytes for sub-byte dtypes);
//! the tensors neither overlap nor leave gaps, and end exactly at the end of the file (the spec
//! forbids holes, which is what keeps a safetensors file from also being another format).
//! Only the header is read, never the data.

use std::collections::HashSet;
use std::fmt;
use std::io::{self, Read};

use serde::Serialize;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::Value;

/// The reference reader's limit on the header (`MAX_HEADER_SIZE`).
pub const MAX_HEADER_BYTES: u64 = 100_000_000;

/// Problems listed per file; past it one more says how many were left out.
const MAX_PROBLEMS: usize = 100;

/// One thing wrong with a header, naming the tensor when it is about one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeaderProblem {
    /// The tensor (or `__metadata__`) at fault; `None` for the file as a whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tensor: Option<String>,
    /// What is wrong, in a sentence.
    pub message: String,
}

impl fmt::Display for HeaderProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.tensor {
            Some(tensor) => write!(f, "tensor `{tensor}`: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// What the header holds, and what is wrong with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HeaderCheck {
    /// N, the header's length in bytes (`None` when the file is shorter than 8 bytes).
    pub header_bytes: Option<u64>,
    /// Tensors listed.
    pub tensors: usize,
    /// Keys of `__metadata__`, sorted.
    pub metadata_keys: Vec<String>,
    /// Everything wrong, in file order; empty for a valid header.
    pub problems: Vec<HeaderProblem>,
}

/// A dtype's size in bits (the reference reader's `Dtype::bitsize`), `None` for an unknown one.
pub fn dtype_bits(dtype: &str) -> Option<u64> {
    Some(match dtype {
        "F4" => 4,
        "F6_E2M3" | "F6_E3M2" => 6,
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" | "F8_E8M0" | "F8_E4M3FNUZ"
        | "F8_E5M2FNUZ" => 8,
        "I16" | "U16" | "F16" | "BF16" => 16,
        "I32" | "U32" | "F32" => 32,
        "I64" | "U64" | "F64" | "C64" => 64,
        _ => return None,
    })
}

/// Checks the header of a safetensors file of `file_len` bytes, reading it from `reader`
/// (positioned at the start of the file). `Err` only when reading fails.
pub fn check<R: Read>(mut reader: R, file_len: u64) -> io::Result<HeaderCheck> {
    let mut out = HeaderCheck::default();
    let mut prefix = [0; 8];
    if file_len < 8 {
        out.problem(
            None,
            format!("the file has {file_len} bytes, fewer than the 8 of the header length"),
        );
        return Ok(out);
    }
    reader.read_exact(&mut prefix)?;
    let n = u64::from_le_bytes(prefix);
    out.header_bytes = Some(n);
    if n > MAX_HEADER_BYTES {
        out.problem(
            None,
            format!("the header length {n} is over the 100 MB limit of safetensors readers"),
        );
        return Ok(out);
    }
    if n > file_len - 8 {
        out.problem(
            None,
            format!("the header length {n} goes past the end of the file ({file_len} bytes)"),
        );
        return Ok(out);
    }
    let mut header = vec![0; n as usize];
    reader.read_exact(&mut header)?;
    if header.first() != Some(&b'{') {
        out.problem(None, "the header does not start with `{`".to_owned());
        return Ok(out);
    }
    let text = match std::str::from_utf8(&header) {
        Ok(text) => text,
        Err(error) => {
            out.problem(
                None,
                format!(
                    "the header is not UTF-8 (byte {} of it)",
                    error.valid_up_to()
                ),
            );
            return Ok(out);
        }
    };
    let mut entries = Vec::new();
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let parsed = EntriesSeed(&mut entries)
        .deserialize(&mut deserializer)
        .and_then(|()| deserializer.end());
    if let Err(error) = parsed {
        out.problem(None, format!("the header is not valid JSON: {error}"));
        return Ok(out);
    }
    let data_len = file_len - 8 - n;
    out.entries(entries, data_len);
    Ok(out)
}

/// One entry of the header, parsed as soon as it is read so the JSON of a large header is
/// never held whole as a tree.
enum Entry {
    Metadata(Result<Vec<String>, String>),
    Tensor {
        name: String,
        info: Result<Tensor, String>,
    },
    Duplicate(String),
}

struct Tensor {
    begin: u64,
    end: u64,
}

impl HeaderCheck {
    fn problem(&mut self, tensor: Option<&str>, message: String) {
        match self.problems.len() {
            n if n < MAX_PROBLEMS => self.problems.push(HeaderProblem {
                tensor: tensor.map(str::to_owned),
                message,
            }),
            n if n == MAX_PROBLEMS => self.problems.push(HeaderProblem {
                tensor: None,
                message: "more problems are not listed".to_owned(),
            }),
            _ => {}
        }
    }

    fn entries(&mut self, entries: Vec<Entry>, data_len: u64) {
        let mut tensors = Vec::new();
        for entry in entries {
            match entry {
                Entry::Duplicate(name) => {
                    self.problem(Some(&name), "listed twice in the header".to_owned());
                }
                Entry::Metadata(Ok(keys)) => self.metadata_keys = keys,
                Entry::Metadata(Err(message)) => self.problem(Some("__metadata__"), message),
                Entry::Tensor { name, info } => {
                    self.tensors += 1;
                    match info {
                        Ok(tensor) if tensor.end > data_len => self.problem(
                            Some(&name),
                            format!(
                                "data_offsets [{}, {}] end past the data section ({data_len} bytes)",
                                tensor.begin, tensor.end
                            ),
                        ),
                        Ok(tensor) => tensors.push((name, tensor)),
                        Err(message) => self.problem(Some(&name), message),
                    }
                }
            }
        }
        self.metadata_keys.sort();
        // The data section must be covered exactly once: sorted by offsets, each tensor starts
        // where the previous one ended.
        tensors.sort_by_key(|(_, t)| (t.begin, t.end));
        let mut covered = 0;
        let mut previous: Option<&str> = None;
        for (name, tensor) in &tensors {
            if tensor.begin < covered {
                let other = previous.unwrap_or_default();
                self.problem(
                    Some(name),
                    format!(
                        "data_offsets [{}, {}] overlap tensor `{other}`, which ends at {covered}",
                        tensor.begin, tensor.end
                    ),
                );
            } else if tensor.begin > covered {
                self.problem(
                    Some(name),
                    format!(
                        "data_offsets [{}, {}] leave bytes {covered}..{} of the data section to no tensor",
                        tensor.begin, tensor.end, tensor.begin
                    ),
                );
            }
            if tensor.end >= covered {
                covered = tensor.end;
                previous = Some(name);
            }
        }
        // Only meaningful when every tensor could be placed; otherwise the problems above say why.
        if covered < data_len && tensors.len() == self.tensors {
            self.problem(
                None,
                format!(
                    "bytes {covered}..{data_len} of the data section belong to no tensor (the file has {} bytes more than its tensors)",
                    data_len - covered
                ),
            );
        }
    }
}

/// Validates one tensor's JSON description.
fn tensor(value: &Value) -> Result<Tensor, String> {
    let Value::Object(map) = value else {
        return Err("not an object of dtype, shape and data_offsets".to_owned());
    };
    let dtype = match map.get("dtype") {
        Some(Value::String(dtype)) => dtype,
        Some(_) => return Err("dtype is not a string".to_owned()),
        None => return Err("no dtype".to_owned()),
    };
    let bits = dtype_bits(dtype).ok_or_else(|| format!("unknown dtype {dtype:?}"))?;
    let shape = match map.get("shape") {
        Some(Value::Array(shape)) => shape
            .iter()
            .map(Value::as_u64)
            .collect::<Option<Vec<u64>>>()
            .ok_or("shape is not a list of non-negative integers")?,
        Some(_) => return Err("shape is not a list".to_owned()),
        None => return Err("no shape".to_owned()),
    };
    let (begin, end) = match map.get("data_offsets") {
        Some(Value::Array(offsets)) => match offsets.as_slice() {
            [begin, end] => (
                begin
                    .as_u64()
                    .ok_or("data_offsets are not non-negative integers")?,
                end.as_u64()
                    .ok_or("data_offsets are not non-negative integers")?,
            ),
            _ => return Err("data_offsets is not a pair [begin, end]".to_owned()),
        },
        Some(_) => return Err("data_offsets is not a list".to_owned()),
        None => return Err("no data_offsets".to_owned()),
    };
    if end < begin {
        return Err(format!(
            "data_offsets [{begin}, {end}] end before they begin"
        ));
    }
    let elements = shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("shape {shape:?} has more elements than fit in 64 bits"))?;
    let total_bits = elements
        .checked_mul(bits)
        .ok_or_else(|| format!("shape {shape:?} of {dtype} is larger than fits in 64 bits"))?;
    if total_bits % 8 != 0 {
        return Err(format!(
            "shape {shape:?} of {dtype} ({bits}-bit) does not end on a byte boundary"
        ));
    }
    let bytes = total_bits / 8;
    if end - begin != bytes {
        return Err(format!(
            "data_offsets [{begin}, {end}] hold {} bytes, but shape {shape:?} of {dtype} needs {bytes}",
            end - begin
        ));
    }
    Ok(Tensor { begin, end })
}

/// `__metadata__`: a map of strings to strings, nothing else.
fn metadata(value: &Value) -> Result<Vec<String>, String> {
    let Value::Object(map) = value else {
        return Err("__metadata__ is not a map of strings".to_owned());
    };
    let mut keys = Vec::with_capacity(map.len());
    for (key, value) in map {
        if !value.is_string() {
            return Err(format!("the value of {key:?} is not a string"));
        }
        keys.push(key.clone());
    }
    Ok(keys)
}

/// Reads the header object entry by entry, keeping each key's order and its duplicates (a JSON
/// map type would silently keep the last of two).
struct EntriesSeed<'a>(&'a mut Vec<Entry>);

impl<'de> DeserializeSeed<'de> for EntriesSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EntriesSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of tensors")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let value: Value = map.next_value()?;
            if !seen.insert(key.clone()) {
                self.0.push(Entry::Duplicate(key));
            } else if key == "__metadata__" {
                self.0.push(Entry::Metadata(metadata(&value)));
            } else {
                let info = tensor(&value);
                self.0.push(Entry::Tensor { name: key, info });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file: the header (padded with spaces to `pad`), then `data` bytes of zeros.
    fn file(header: &str, data: usize) -> Vec<u8> {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend(std::iter::repeat_n(0, data));
        out
    }

    fn problems(bytes: &[u8]) -> Vec<String> {
        check(bytes, bytes.len() as u64)
            .unwrap()
            .problems
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_valid_header_with_metadata_padding_and_empty_and_scalar_tensors() {
        let header = r#"{"__metadata__":{"format":"pt"},"b":{"dtype":"F16","shape":[2,3],"data_offsets":[4,16]},"a":{"dtype":"I32","shape":[],"data_offsets":[0,4]},"e":{"dtype":"F32","shape":[0,5],"data_offsets":[16,16]}}   "#;
        let bytes = file(header, 16);
        let check = check(&bytes[..], bytes.len() as u64).unwrap();
        assert_eq!(check.problems, []);
        assert_eq!(check.tensors, 3);
        assert_eq!(check.metadata_keys, ["format"]);
    }

    #[test]
    fn sub_byte_dtypes_must_end_on_a_byte() {
        let ok = file(
            r#"{"x":{"dtype":"F4","shape":[4],"data_offsets":[0,2]}}"#,
            2,
        );
        assert_eq!(problems(&ok), Vec::<String>::new());
        let odd = file(
            r#"{"x":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#,
            2,
        );
        assert_eq!(
            problems(&odd),
            ["tensor `x`: shape [3] of F4 (4-bit) does not end on a byte boundary"]
        );
    }

    #[test]
    fn gaps_trailing_bytes_and_overflow() {
        let gap = file(
            r#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}}"#,
            6,
        );
        assert_eq!(
            problems(&gap),
            [
                "tensor `b`: data_offsets [3, 5] leave bytes 2..3 of the data section to no tensor",
                "bytes 5..6 of the data section belong to no tensor (the file has 1 bytes more than its tensors)"
            ]
        );
        let huge = file(
            r#"{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]}}"#,
            0,
        );
        assert_eq!(
            problems(&huge),
            ["tensor `a`: shape [4294967296, 4294967296] has more elements than fit in 64 bits"]
        );
    }

    #[test]
    fn malformed_entries_are_named() {
        let bytes = file(
            r#"{"__metadata__":{"n":1},"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]},"b":[],"a":{}}"#,
            0,
        );
        assert_eq!(
            problems(&bytes),
            [
                "tensor `__metadata__`: the value of \"n\" is not a string",
                "tensor `a`: shape is not a list of non-negative integers",
                "tensor `b`: not an object of dtype, shape and data_offsets",
                "tensor `a`: listed twice in the header"
            ]
        );
        assert_eq!(
            problems(&file("[1]", 0)),
            ["the header does not start with `{`"]
        );
        assert!(problems(&file("{\"a\":", 0))[0].starts_with("the header is not valid JSON"));
        assert_eq!(
            problems(b"\x01\x00"),
            ["the file has 2 bytes, fewer than the 8 of the header length"]
        );
    }
}
