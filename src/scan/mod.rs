//! Static scanning of model files (`hfdl audit --scan`): what loading a file would import, read
//! from its bytes without executing, importing or unpickling anything.
//!
//! [`scan_file`] detects a file's format by its magic bytes ([`detect_format`]) and then:
//!
//! - a pickle (`\x80` and a protocol byte; also a `.pkl`/`.pickle` of protocol 0 or 1) is walked
//!   opcode by opcode ([`pickle::walk`]), every pickle of the file in a row, and PyTorch's legacy
//!   format (five pickles, then raw tensor bytes) up to its data;
//! - a zip archive (PyTorch's format since 1.6: `archive/data.pkl` beside `archive/data/0`, …;
//!   `.npz`) has every `*.pkl` member walked, and every `*.npy` member that holds objects;
//! - a NumPy `.npy` of object dtype holds a pickle after its header, which is walked;
//! - a safetensors file has its header validated ([`safetensors::check`]);
//! - GGUF and ONNX are recognised, not scanned (loading them imports nothing).
//!
//! Each global a pickle imports becomes a [`Finding`] with a [`Severity`] from
//! [`classify::classify`]; what keeps a file from being read as its format (a truncated or
//! malformed pickle, a broken archive, an invalid safetensors header) is a [`Problem`]. Both go
//! into a serde-serialisable [`ScanReport`]. Files are streamed: a safetensors file is read up
//! to the end of its header, an archive through its central directory and its pickle members,
//! a pickle once, front to back, keeping only short strings, so a file of many gigabytes scans
//! in bounded memory.

pub mod classify;
pub mod pickle;
pub mod safetensors;

use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::codes::{EXIT_FAILURE, ErrorCode};
pub use classify::{Severity, classify};
use pickle::{Limits, Pickles, Walk};

/// A file's format, told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// 8-byte little-endian header length, then a JSON header starting with `{`.
    Safetensors,
    /// `GGUF` (llama.cpp).
    Gguf,
    /// An ONNX `ModelProto` (protobuf, recognised by its leading `ir_version` field; best effort).
    Onnx,
    /// A zip archive (`PK\x03\x04`): PyTorch's `torch.save` format since 1.6, `.npz`, …
    Zip,
    /// A pickle of protocol 2 or later (`\x80` and the protocol), including PyTorch's legacy
    /// format.
    Pickle,
    /// A NumPy `.npy` array (`\x93NUMPY`): pickled only when of object dtype.
    Numpy,
    /// None of these.
    Unknown,
}

impl Format {
    /// Whether loading a file of this format the usual way unpickles it (`torch.load` of a zip
    /// archive or a pickle). A `.npy` is not counted: NumPy refuses object arrays unless asked.
    pub fn is_pickle_based(self) -> bool {
        matches!(self, Format::Zip | Format::Pickle)
    }

    /// The name used in reports (`safetensors`, `gguf`, `onnx`, `zip`, `pickle`, `numpy`,
    /// `unknown`).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Safetensors => "safetensors",
            Format::Gguf => "gguf",
            Format::Onnx => "onnx",
            Format::Zip => "zip",
            Format::Pickle => "pickle",
            Format::Numpy => "numpy",
            Format::Unknown => "unknown",
        }
    }
}

/// How many leading bytes [`detect_format_of`] looks at (enough to see past a pickle's
/// `PROTO` and `FRAME` to PyTorch's legacy magic number).
pub const MAGIC_BYTES: usize = 32;

/// The format of the file at `path`, from its first [`MAGIC_BYTES`] bytes.
pub fn detect_format(path: &Path) -> Result<Format, ScanError> {
    let mut file = fs_err::File::open(path).map_err(ScanError::io(path))?;
    let head = read_head(&mut file).map_err(ScanError::io(path))?;
    Ok(detect_format_of(&head))
}

/// The format of a file that starts with `head` (its first [`MAGIC_BYTES`] bytes, or all of
/// a shorter file).
pub fn detect_format_of(head: &[u8]) -> Format {
    match head {
        [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] => Format::Zip,
        [0x80, protocol, ..] if *protocol <= pickle::HIGHEST_PROTOCOL => Format::Pickle,
        [b'G', b'G', b'U', b'F', ..] => Format::Gguf,
        [0x93, b'N', b'U', b'M', b'P', b'Y', ..] => Format::Numpy,
        [_, _, _, _, _, _, _, _, b'{', ..] => Format::Safetensors,
        // Field 1 (`ir_version`, a small varint), then another field of `ModelProto`
        // (length-delimited or varint, numbers 2 to 20): protobuf writers emit fields in order.
        [0x08, version @ 1..=0x7f, tag, ..]
            if *version <= 64 && matches!(tag & 7, 0 | 2) && (2..=20).contains(&(tag >> 3)) =>
        {
            Format::Onnx
        }
        _ => Format::Unknown,
    }
}

/// One global a pickle imports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The module, as written in the pickle (`posix`, `torch._utils`).
    pub module: String,
    /// The name imported from it (possibly dotted).
    pub name: String,
    /// How worrying the import is.
    pub severity: Severity,
    /// The byte offset of the first opcode importing it, in the file or in its archive member.
    pub offset: u64,
    /// The archive member holding the pickle (`archive/data.pkl`), `None` for the file itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// The importing opcode (`GLOBAL`, `STACK_GLOBAL`, `INST`, `EXT1`, …).
    pub opcode: &'static str,
    /// How many opcodes of that pickle stream import it.
    pub occurrences: u64,
    /// Whether the pickle calls it (`REDUCE`, `NEWOBJ`, `OBJ`, `INST`): loading then runs it.
    pub called: bool,
    /// False when the import cannot be told from the bytes (a name computed at load time, a
    /// string too long to keep, an extension code); `module`/`name` then hold `?` where unknown.
    pub resolved: bool,
}

/// What kind of thing a [`Problem`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProblemKind {
    /// A pickle stream an unpickler would refuse (truncated, malformed); its imports up to
    /// there are still listed, because an unpickler runs them before it fails.
    Pickle,
    /// An archive, or one of its members, that cannot be read (so it was not fully scanned).
    Archive,
    /// A NumPy header that cannot be read.
    Numpy,
    /// A safetensors header that breaks the format's rules.
    Safetensors,
    /// More than the scanner lists (distinct imports): the rest were not classified.
    Limit,
}

/// Something that keeps the file from being read as its format, or from being fully scanned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// What it is about.
    pub kind: ProblemKind,
    /// The archive member, for a problem inside one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// The safetensors tensor (or `__metadata__`) at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tensor: Option<String>,
    /// The byte offset in the file or member, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// What is wrong, in a sentence.
    pub message: String,
}

/// One pickle stream that was walked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PickleStream {
    /// The archive member, `None` for the file itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// Pickles read to their `STOP`.
    pub pickles: u32,
    /// The highest protocol announced.
    pub protocol: Option<u8>,
    /// Bytes read.
    pub bytes: u64,
    /// Bytes follow the last pickle that start no other (ignored by `pickle.load`).
    pub trailing_data: bool,
}

/// The header of a safetensors file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SafetensorsHeader {
    /// The header's length in bytes.
    pub header_bytes: u64,
    /// Tensors listed.
    pub tensors: usize,
    /// Keys of `__metadata__`, sorted.
    pub metadata_keys: Vec<String>,
}

/// What [`scan_file`] found in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanReport {
    /// The format, from the magic bytes.
    pub format: Format,
    /// Every import of every pickle, in file order.
    pub findings: Vec<Finding>,
    /// What could not be read, or breaks the format's rules.
    pub problems: Vec<Problem>,
    /// The pickle streams walked (the file itself, or each pickle member of an archive).
    pub streams: Vec<PickleStream>,
    /// A safetensors file's header, when it could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub safetensors: Option<SafetensorsHeader>,
}

impl ScanReport {
    fn new(format: Format) -> Self {
        ScanReport {
            format,
            findings: Vec::new(),
            problems: Vec::new(),
            streams: Vec::new(),
            safetensors: None,
        }
    }

    /// The findings whose import is dangerous (loading the file can run code).
    pub fn dangerous(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Dangerous)
    }

    /// The worst severity among the findings, `None` without any.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// Nothing dangerous and no problem: every import was safe or unknown, and the file was
    /// read to its end as its format.
    pub fn is_clean(&self) -> bool {
        self.dangerous().next().is_none() && self.problems.is_empty()
    }

    fn problem(&mut self, kind: ProblemKind, member: Option<&str>, message: String) {
        self.problems.push(Problem {
            kind,
            member: member.map(str::to_owned),
            tensor: None,
            offset: None,
            message,
        });
    }

    /// Records a walk: its imports, classified, its stream, and why it stopped early.
    fn add_walk(&mut self, walk: Walk, member: Option<&str>) {
        for global in walk.globals {
            let severity = if global.opcode.starts_with("EXT") {
                // The process's extension registry decides; CPython's is empty by default.
                Severity::Unknown
            } else if !global.resolved {
                // An import computed at load time is how scanners are evaded.
                Severity::Dangerous
            } else {
                classify(&global.module, &global.name)
            };
            self.findings.push(Finding {
                module: global.module,
                name: global.name,
                severity,
                offset: global.offset,
                member: member.map(str::to_owned),
                opcode: global.opcode,
                occurrences: global.occurrences,
                called: global.called,
                resolved: global.resolved,
            });
        }
        if walk.globals_truncated {
            self.problem(
                ProblemKind::Limit,
                member,
                format!(
                    "the pickle imports more than {} distinct globals; the rest are not listed",
                    Limits::default().max_globals
                ),
            );
        }
        if let Some(error) = walk.error {
            self.problems.push(Problem {
                kind: ProblemKind::Pickle,
                member: member.map(str::to_owned),
                tensor: None,
                offset: Some(error.offset),
                message: format!(
                    "not a valid pickle at byte {}: {}",
                    error.offset, error.problem
                ),
            });
        }
        self.streams.push(PickleStream {
            member: member.map(str::to_owned),
            pickles: walk.pickles,
            protocol: walk.protocol,
            bytes: walk.bytes,
            trailing_data: walk.trailing_data,
        });
    }
}

/// A file that could not be read at all.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ScanError {
    /// Opening or reading the file failed (the message names the file: the file is opened
    /// with `fs_err`).
    #[error("cannot scan: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
}

impl ScanError {
    /// An I/O error on `path`, for `map_err`.
    pub fn io(path: &Path) -> impl FnOnce(io::Error) -> ScanError {
        let path = path.to_owned();
        move |source| ScanError::Io { path, source }
    }
}

impl ErrorCode for ScanError {
    fn error_code(&self) -> &'static str {
        match self {
            ScanError::Io { source, .. } if crate::codes::is_disk_full(source) => "disk-full",
            ScanError::Io { .. } => "io-error",
        }
    }

    fn exit_code(&self) -> i32 {
        EXIT_FAILURE
    }
}

/// The largest archive member walked; a bigger `.pkl` is reported, not read (PyTorch keeps
/// tensor data in members of their own, so a real `data.pkl` is megabytes at most).
const MAX_MEMBER_BYTES: u64 = 1 << 30;

/// The longest `.npy` header read (NumPy's own limit is 10 000 bytes unless told otherwise).
const MAX_NPY_HEADER: u32 = 1 << 20;

/// PyTorch's legacy format starts with a pickle of its magic number
/// (`torch.serialization.MAGIC_NUMBER`, 0x1950a86a20f9469cfc6c): `LONG1` of these 10 bytes.
const TORCH_LEGACY_MAGIC: &[u8] = b"\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.";

/// Whether a pickle file is PyTorch's legacy format: its first pickle is the magic number,
/// after `PROTO` and, from protocol 4 on (`torch.save(pickle_protocol=4)`), a `FRAME`.
fn is_torch_legacy(head: &[u8]) -> bool {
    let Some(rest) = head.strip_prefix(&[0x80]).and_then(|h| h.get(1..)) else {
        return false;
    };
    let rest = match rest {
        [0x95, _, _, _, _, _, _, _, _, after @ ..] => after,
        other => other,
    };
    rest.starts_with(TORCH_LEGACY_MAGIC)
}

/// Scans the file at `path`: its format, the imports of its pickles, the validity of its
/// safetensors header. `Err` only when the file cannot be opened or read; everything about
/// its content is in the report.
pub fn scan_file(path: &Path) -> Result<ScanReport, ScanError> {
    let io_error = ScanError::io(path);
    let scan = || -> io::Result<ScanReport> {
        let mut file = fs_err::File::open(path)?;
        let len = file.metadata()?.len();
        let head = read_head(&mut file)?;
        file.seek(SeekFrom::Start(0))?;
        let format = detect_format_of(&head);
        let mut report = ScanReport::new(format);
        let extension = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let reader = BufReader::new(file);
        match format {
            Format::Pickle => {
                let pickles = if is_torch_legacy(&head) {
                    Pickles::Exactly(5)
                } else {
                    Pickles::Consecutive
                };
                let walk = pickle::walk(reader, pickles, &Limits::default())?;
                report.add_walk(walk, None);
            }
            Format::Zip => scan_zip(reader, &mut report)?,
            Format::Numpy => scan_npy(reader, None, &mut report)?,
            Format::Safetensors => scan_safetensors(reader, len, &mut report)?,
            // A `.safetensors` whose ninth byte is not `{` is a broken one: say why.
            Format::Unknown if extension == "safetensors" => {
                scan_safetensors(reader, len, &mut report)?;
            }
            // Protocols 0 and 1 have no magic bytes: trust the name.
            Format::Unknown if matches!(extension.as_str(), "pkl" | "pickle") => {
                let walk = pickle::walk(reader, Pickles::Consecutive, &Limits::default())?;
                report.add_walk(walk, None);
            }
            Format::Gguf | Format::Onnx | Format::Unknown => {}
        }
        Ok(report)
    };
    scan().map_err(io_error)
}

/// Reads up to [`MAGIC_BYTES`] bytes from the start.
fn read_head(file: &mut fs_err::File) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(MAGIC_BYTES);
    file.take(MAGIC_BYTES as u64).read_to_end(&mut head)?;
    Ok(head)
}

fn scan_safetensors<R: Read>(reader: R, len: u64, report: &mut ScanReport) -> io::Result<()> {
    let check = safetensors::check(reader, len)?;
    if let Some(header_bytes) = check.header_bytes {
        report.safetensors = Some(SafetensorsHeader {
            header_bytes,
            tensors: check.tensors,
            metadata_keys: check.metadata_keys,
        });
    }
    for problem in check.problems {
        report.problems.push(Problem {
            kind: ProblemKind::Safetensors,
            member: None,
            tensor: problem.tensor.clone(),
            offset: None,
            message: problem.to_string(),
        });
    }
    Ok(())
}

/// Walks the pickle members of a zip archive. Problems of the archive are in the report; `Err`
/// is left for failures to read the file itself.
fn scan_zip<R: Read + Seek>(reader: R, report: &mut ScanReport) -> io::Result<()> {
    let mut archive = match zip::ZipArchive::new(reader) {
        Ok(archive) => archive,
        Err(zip::result::ZipError::Io(error)) if error.kind() != io::ErrorKind::UnexpectedEof => {
            return Err(error);
        }
        Err(error) => {
            report.problem(
                ProblemKind::Archive,
                None,
                format!("not a readable zip archive: {error}"),
            );
            return Ok(());
        }
    };
    if archive.has_duplicate_names() {
        // Only one entry per name is reachable here, while a loader may read the other.
        report.problem(
            ProblemKind::Archive,
            None,
            "the archive lists a member name twice, so a loader may read a member this scan did not"
                .to_owned(),
        );
    }
    for index in 0..archive.len() {
        let name = match archive.name_for_index(index) {
            Some(Ok(name)) => name.into_owned(),
            Some(Err(error)) => {
                report.problem(
                    ProblemKind::Archive,
                    None,
                    format!("member {index} has an unreadable name: {error}"),
                );
                continue;
            }
            None => continue,
        };
        let extension = Path::new(&name).extension();
        let npy = extension.is_some_and(|e| e.eq_ignore_ascii_case("npy"));
        if !(npy || extension.is_some_and(|e| e.eq_ignore_ascii_case("pkl"))) {
            continue;
        }
        let member = match archive.by_index(index) {
            Ok(member) => member,
            Err(error) => {
                report.problem(
                    ProblemKind::Archive,
                    Some(&name),
                    format!("the member cannot be read, so it was not scanned: {error}"),
                );
                continue;
            }
        };
        if member.is_dir() {
            continue;
        }
        if member.size() > MAX_MEMBER_BYTES {
            report.problem(
                ProblemKind::Archive,
                Some(&name),
                format!(
                    "the member is {} bytes uncompressed, more than the {MAX_MEMBER_BYTES} scanned",
                    member.size()
                ),
            );
            continue;
        }
        let reader = BufReader::new(member.take(MAX_MEMBER_BYTES));
        let outcome = if npy {
            scan_npy(reader, Some(&name), report)
        } else {
            pickle::walk(reader, Pickles::One, &Limits::default())
                .map(|walk| report.add_walk(walk, Some(&name)))
        };
        // A member that fails mid-way (a corrupt compressed stream) is a property of the
        // archive, not a failure to read the file.
        if let Err(error) = outcome {
            report.problem(
                ProblemKind::Archive,
                Some(&name),
                format!("the member cannot be read to its end: {error}"),
            );
        }
    }
    Ok(())
}

/// A `.npy` (the file, or a member of an `.npz`): an object array's data is a pickle.
fn scan_npy<R: BufRead>(
    mut reader: R,
    member: Option<&str>,
    report: &mut ScanReport,
) -> io::Result<()> {
    match npy_header(&mut reader) {
        Ok(Ok(header)) if header.is_object() => {
            // NumPy's `write_array` pickles the whole array after the header.
            let mut walk = pickle::walk(reader, Pickles::One, &Limits::default())?;
            shift(&mut walk, header.bytes);
            report.add_walk(walk, member);
        }
        Ok(Ok(_)) => {}
        Ok(Err(message)) => report.problem(ProblemKind::Numpy, member, message),
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => {
            report.problem(
                ProblemKind::Numpy,
                member,
                "the NumPy header is truncated".to_owned(),
            );
        }
        Err(error) => return Err(error),
    }
    Ok(())
}

/// The header of a `.npy`, as text, with the bytes before the data; `Ok(Err)` when it breaks
/// the format.
fn npy_header<R: BufRead>(reader: &mut R) -> io::Result<Result<NpyHeader, String>> {
    let mut prefix = [0; 8];
    reader.read_exact(&mut prefix)?;
    if &prefix[..6] != b"\x93NUMPY" {
        return Ok(Err("not a NumPy array (no \\x93NUMPY magic)".to_owned()));
    }
    let (len, prefix_len) = match prefix[6] {
        1 => {
            let mut n = [0; 2];
            reader.read_exact(&mut n)?;
            (u32::from(u16::from_le_bytes(n)), 10)
        }
        2 | 3 => {
            let mut n = [0; 4];
            reader.read_exact(&mut n)?;
            (u32::from_le_bytes(n), 12)
        }
        major => return Ok(Err(format!("unknown NumPy format version {major}"))),
    };
    if len > MAX_NPY_HEADER {
        return Ok(Err(format!(
            "the NumPy header is {len} bytes, more than {MAX_NPY_HEADER}"
        )));
    }
    let mut text = vec![0; len as usize];
    reader.read_exact(&mut text)?;
    Ok(Ok(NpyHeader {
        text: String::from_utf8_lossy(&text).into_owned(),
        bytes: prefix_len + u64::from(len),
    }))
}

/// A `.npy` header: its text and how many bytes precede the data.
struct NpyHeader {
    text: String,
    bytes: u64,
}

impl NpyHeader {
    /// Object dtype (`'|O'`), alone or as a field of a structured dtype.
    fn is_object(&self) -> bool {
        self.text.contains("'|O'") || self.text.contains("\"|O\"")
    }
}

/// Moves a walk's offsets by `base` (a pickle that starts after a header).
fn shift(walk: &mut Walk, base: u64) {
    for global in &mut walk.globals {
        global.offset += base;
    }
    if let Some(error) = &mut walk.error {
        error.offset += base;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_magic_bytes() {
        let cases: &[(&[u8], Format)] = &[
            (b"PK\x03\x04rest", Format::Zip),
            (b"PK\x05\x06", Format::Zip),
            (b"\x80\x02}q\x00.", Format::Pickle),
            (b"\x80\x05\x95", Format::Pickle),
            (b"\x80\x09", Format::Unknown),
            (b"GGUF\x03\x00\x00\x00", Format::Gguf),
            (b"\x93NUMPY\x01\x00", Format::Numpy),
            (
                b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\"",
                Format::Safetensors,
            ),
            (b"\x08\x07\x12\x07pytorch", Format::Onnx),
            (b"\x08\x08\x3a\x10", Format::Onnx),
            (b"", Format::Unknown),
            (b"{\"json\": 1}", Format::Unknown),
        ];
        for (head, format) in cases {
            assert_eq!(detect_format_of(head), *format, "{head:?}");
        }
        assert!(Format::Zip.is_pickle_based() && Format::Pickle.is_pickle_based());
        assert!(!Format::Safetensors.is_pickle_based());
    }

    #[test]
    fn the_legacy_magic_is_the_pickle_of_torchs_magic_number() {
        // `pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2)`: LONG1 of 10 little-endian bytes.
        let mut long1 = b"\x8a\x0a".to_vec();
        long1.extend_from_slice(&0x1950_a86a_20f9_469c_fc6c_u128.to_le_bytes()[..10]);
        long1.push(b'.');
        assert_eq!(long1, TORCH_LEGACY_MAGIC);
        let protocol_2 = [b"\x80\x02".as_slice(), &long1].concat();
        assert!(is_torch_legacy(&protocol_2));
        // Protocol 4 frames it: `pickle.dumps(MAGIC_NUMBER, protocol=4)`.
        let protocol_4 = [b"\x80\x04\x95\x0d\0\0\0\0\0\0\0".as_slice(), &long1].concat();
        assert!(is_torch_legacy(&protocol_4));
        assert!(!is_torch_legacy(b"\x80\x02\x8a\x0a"));
        assert!(!is_torch_legacy(b""));
    }

    #[test]
    fn a_report_serialises_with_lowercase_names() {
        let mut report = ScanReport::new(Format::Pickle);
        report.add_walk(
            pickle::walk(
                &b"\x80\x02cposix\nsystem\n)R."[..],
                Pickles::One,
                &Limits::default(),
            )
            .unwrap(),
            None,
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["format"], "pickle");
        assert_eq!(json["findings"][0]["severity"], "dangerous");
        assert_eq!(json["findings"][0]["offset"], 2);
        assert_eq!(report.dangerous().count(), 1);
        assert_eq!(report.worst(), Some(Severity::Dangerous));
        assert!(!report.is_clean());
    }
}
