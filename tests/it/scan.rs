//! `hfdl::scan` on real files: pickles written by CPython's `pickle` module (`scan_fixtures.py`
//! beside this file; never unpickled), PyTorch-style zip archives built with `zipfile`, and
//! safetensors files built here byte by byte.
//!
//! The pickle tests need a Python 3 (`HFDL_TEST_PYTHON`, default `python3`; the standard
//! library is enough); they are skipped with a message when it is missing, except under
//! `CI=true`, where they fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use hfdl::scan::pickle::{Limits, Pickles, walk};
use hfdl::scan::{Finding, Format, ProblemKind, ScanReport, Severity, detect_format, scan_file};
use serde_json::Value;

/// The fixtures, written by Python into a temporary directory, and what pickletools says of
/// them.
struct Fixtures {
    dir: tempfile::TempDir,
    expected: Value,
}

impl Fixtures {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn scan(&self, name: &str) -> ScanReport {
        scan_file(&self.path(name)).unwrap()
    }

    /// The offsets of `opcode` imports in fixture `name`, per pickletools.
    fn offsets(&self, name: &str, opcode: &str) -> Vec<u64> {
        self.expected[name]["imports"][opcode]
            .as_array()
            .unwrap_or_else(|| panic!("no {opcode} offsets for {name}: {}", self.expected))
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect()
    }
}

#[allow(clippy::disallowed_methods)] // Test harness configuration, not hfdl's environment.
fn fixtures() -> Option<Fixtures> {
    let python = std::env::var("HFDL_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/scan_fixtures.py");
    match Command::new(&python).arg(&script).arg(dir.path()).output() {
        Ok(output) if output.status.success() => {}
        outcome => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI must provide Python 3 to write the pickle fixtures: {outcome:?}"
            );
            #[allow(clippy::print_stderr)] // a skipped test must say so in the output
            {
                eprintln!("SKIPPED: {python} could not write the pickle fixtures: {outcome:?}");
            }
            return None;
        }
    }
    let expected = fs_err::read_to_string(dir.path().join("expected.json")).unwrap();
    Some(Fixtures {
        dir,
        expected: serde_json::from_str(&expected).unwrap(),
    })
}

/// `(module.name, severity, offset)` of each finding.
fn summary(report: &ScanReport) -> Vec<(String, Severity, u64)> {
    report
        .findings
        .iter()
        .map(|f| (format!("{}.{}", f.module, f.name), f.severity, f.offset))
        .collect()
}

/// The one finding of a report.
fn only(report: &ScanReport) -> &Finding {
    assert_eq!(report.findings.len(), 1, "{report:#?}");
    &report.findings[0]
}

/// `os.system` pickles under the module that defines it: `posix`, or `nt` on Windows.
fn is_os_system(finding: &Finding) -> bool {
    matches!(finding.module.as_str(), "posix" | "nt" | "os") && finding.name == "system"
}

#[test]
fn a_benign_state_dict_imports_only_ordered_dict() {
    let Some(fx) = fixtures() else { return };
    for (name, opcode) in [
        ("benign_p2.pkl", "GLOBAL"),
        ("benign_p4.pkl", "STACK_GLOBAL"),
    ] {
        let report = fx.scan(name);
        assert_eq!(report.format, Format::Pickle);
        assert_eq!(
            summary(&report),
            [(
                "collections.OrderedDict".to_owned(),
                Severity::Safe,
                fx.offsets(name, opcode)[0]
            )],
            "{name}"
        );
        assert_eq!(only(&report).opcode, opcode);
        assert!(only(&report).called, "OrderedDict() is called by REDUCE");
        assert!(report.is_clean(), "{report:#?}");
        assert_eq!(report.streams[0].pickles, 1);
    }
}

#[test]
fn a_reduce_to_os_system_is_dangerous_at_its_offset() {
    let Some(fx) = fixtures() else { return };
    for (name, opcode) in [
        ("os_system_p2.pkl", "GLOBAL"),
        ("os_system_p4.pkl", "STACK_GLOBAL"),
    ] {
        let report = fx.scan(name);
        let finding = only(&report);
        assert!(is_os_system(finding), "{finding:?}");
        assert_eq!(finding.severity, Severity::Dangerous);
        assert_eq!(finding.offset, fx.offsets(name, opcode)[0]);
        assert!(finding.called && finding.resolved);
        assert_eq!(report.dangerous().count(), 1);
        assert!(!report.is_clean());
    }
}

#[test]
fn eval_is_dangerous_under_its_python_2_module_name() {
    let Some(fx) = fixtures() else { return };
    let report = fx.scan("eval.pkl");
    // Protocol 2 writes Python 2 names (`fix_imports`): `__builtin__`.
    assert_eq!(
        summary(&report),
        [(
            "__builtin__.eval".to_owned(),
            Severity::Dangerous,
            fx.offsets("eval.pkl", "GLOBAL")[0]
        )]
    );
}

#[test]
fn memoized_strings_resolve_a_stack_global() {
    let Some(fx) = fixtures() else { return };
    let report = fx.scan("memo_p4.pkl");
    let offsets = fx.offsets("memo_p4.pkl", "STACK_GLOBAL");
    let found: Vec<_> = report
        .findings
        .iter()
        .map(|f| (f.name.as_str(), f.severity, f.offset))
        .collect();
    assert_eq!(
        found,
        [
            ("getcwd", Severity::Dangerous, offsets[0]),
            ("system", Severity::Dangerous, offsets[1])
        ]
    );
    // The module of the second import was read back with BINGET.
    assert_eq!(report.findings[0].module, report.findings[1].module);
    assert!(report.findings.iter().all(|f| f.resolved && !f.called));

    let report = fx.scan("same_class_p4.pkl");
    let finding = only(&report);
    assert_eq!(
        (finding.module.as_str(), finding.name.as_str()),
        ("__main__", "Point")
    );
    assert_eq!(finding.severity, Severity::Unknown);
    assert_eq!(
        finding.offset,
        fx.offsets("same_class_p4.pkl", "STACK_GLOBAL")[0]
    );
    assert_eq!(
        finding.occurrences, 1,
        "the second object reuses the memoized class"
    );
    assert!(finding.called, "NEWOBJ calls the class");
    assert!(report.is_clean(), "unknown is reported, not dangerous");
}

#[test]
fn a_pickle_appended_to_another_is_scanned() {
    let Some(fx) = fixtures() else { return };
    let report = fx.scan("two_pickles.pkl");
    assert_eq!(report.streams[0].pickles, 2);
    let dangerous: Vec<_> = report.dangerous().collect();
    assert_eq!(dangerous.len(), 1, "{report:#?}");
    assert!(is_os_system(dangerous[0]));
    assert_eq!(
        dangerous[0].offset,
        fx.offsets("two_pickles.pkl", "GLOBAL")[0]
    );
}

#[test]
fn a_truncated_pickle_is_a_problem_at_the_opcode() {
    let Some(fx) = fixtures() else { return };
    let report = fx.scan("truncated.pkl");
    let at = fx.expected["truncated.pkl"]["truncated_at"]
        .as_u64()
        .unwrap();
    assert_eq!(report.problems.len(), 1, "{report:#?}");
    let problem = &report.problems[0];
    assert_eq!(problem.kind, ProblemKind::Pickle);
    assert_eq!(problem.offset, Some(at));
    assert_eq!(
        problem.message,
        format!(
            "not a valid pickle at byte {at}: the stream ends inside the argument of SHORT_BINUNICODE"
        )
    );
    // What came before the cut is still listed: an unpickler runs it before failing.
    assert_eq!(summary(&report)[0].0, "collections.OrderedDict");
    assert!(!report.is_clean());
}

#[test]
fn a_pytorch_zip_archive_has_its_data_pkl_scanned() {
    let Some(fx) = fixtures() else { return };
    let path = fx.path("torch_like.pt");
    assert_eq!(detect_format(&path).unwrap(), Format::Zip);
    let report = fx.scan("torch_like.pt");
    let offsets = fx.offsets("torch_like.pt", "GLOBAL");
    assert_eq!(
        summary(&report),
        [
            (
                "collections.OrderedDict".to_owned(),
                Severity::Safe,
                offsets[0]
            ),
            (
                "torch._utils._rebuild_tensor_v2".to_owned(),
                Severity::Safe,
                offsets[1]
            ),
            ("torch.FloatStorage".to_owned(), Severity::Safe, offsets[2]),
        ]
    );
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.member.as_deref() == Some("archive/data.pkl"))
    );
    assert_eq!(report.streams.len(), 1, "only the .pkl member is read");
    assert!(report.is_clean(), "{report:#?}");

    // The same, with os.system, deflated.
    let report = fx.scan("evil.bin");
    assert_eq!(report.format, Format::Zip);
    let finding = only(&report);
    assert!(is_os_system(finding));
    assert_eq!(finding.severity, Severity::Dangerous);
    assert_eq!(finding.member.as_deref(), Some("archive/data.pkl"));
    assert_eq!(finding.offset, fx.offsets("evil.bin", "GLOBAL")[0]);

    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["format"], "zip");
    assert_eq!(json["findings"][0]["member"], "archive/data.pkl");
    assert_eq!(json["findings"][0]["severity"], "dangerous");
}

#[test]
fn legacy_torch_files_and_object_arrays_are_scanned_up_to_their_data() {
    let Some(fx) = fixtures() else { return };
    // Five pickles, then raw bytes that start like a PROTO opcode and are not read as one.
    let report = fx.scan("legacy.pt");
    assert_eq!(report.format, Format::Pickle);
    assert_eq!(report.streams[0].pickles, 5);
    assert!(report.problems.is_empty(), "{report:#?}");
    let finding = only(&report);
    assert!(is_os_system(finding));
    assert_eq!(finding.offset, fx.offsets("legacy.pt", "GLOBAL")[0]);

    let report = fx.scan("objects.npy");
    assert_eq!(report.format, Format::Numpy);
    let finding = only(&report);
    assert!(is_os_system(finding));
    assert_eq!(finding.offset, fx.offsets("objects.npy", "GLOBAL")[0]);
}

#[test]
fn every_protocol_lists_exactly_what_cpythons_unpickler_imports() {
    let Some(fx) = fixtures() else { return };
    let corpus = fx.expected["corpus"].as_object().unwrap();
    assert_eq!(corpus.len(), 42, "7 objects at protocols 0 to 5");
    for (name, imports) in corpus {
        let report = fx.scan(&format!("corpus/{name}"));
        assert!(report.problems.is_empty(), "{name}: {report:#?}");
        let mut found: Vec<(String, String)> = report
            .findings
            .iter()
            .map(|f| (f.module.clone(), f.name.clone()))
            .collect();
        found.sort();
        let expected: Vec<(String, String)> = imports
            .as_array()
            .unwrap()
            .iter()
            .map(|pair| {
                (
                    pair[0].as_str().unwrap().into(),
                    pair[1].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(found, expected, "{name}");
    }
}

#[test]
fn damaged_pickles_end_in_an_error_never_a_panic() {
    let Some(fx) = fixtures() else { return };
    // A fixed-seed generator: the same damage on every run.
    let mut state: u64 = 0x5eed;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    let (mut damaged, mut refused) = (0, 0);
    for entry in fs_err::read_dir(fx.path("corpus")).unwrap() {
        let bytes = fs_err::read(entry.unwrap().path()).unwrap();
        for _ in 0..40 {
            let mut copy = bytes.clone();
            for _ in 0..=next() % 3 {
                let at = next() % copy.len();
                match next() % 3 {
                    0 => copy[at] = next() as u8,
                    1 => copy.truncate(at.max(1)),
                    _ => copy.insert(at, next() as u8),
                }
            }
            let walk = walk(&copy[..], Pickles::Consecutive, &Limits::default()).unwrap();
            damaged += 1;
            if let Some(error) = walk.error {
                refused += 1;
                assert!(error.offset <= copy.len() as u64, "{error}");
            }
        }
    }
    assert!(
        refused > damaged / 2,
        "{refused} of {damaged} damaged pickles refused"
    );
}

/// A safetensors file: the header, then `data` bytes.
fn safetensors(dir: &Path, name: &str, header: &str, data: usize) -> PathBuf {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend(std::iter::repeat_n(0x5a, data));
    let path = dir.join(name);
    fs_err::write(&path, bytes).unwrap();
    path
}

fn messages(report: &ScanReport) -> Vec<String> {
    assert!(
        report
            .problems
            .iter()
            .all(|p| p.kind == ProblemKind::Safetensors)
    );
    report.problems.iter().map(|p| p.message.clone()).collect()
}

#[test]
fn safetensors_headers_are_validated() {
    let dir = tempfile::tempdir().unwrap();
    let valid = safetensors(
        dir.path(),
        "valid.safetensors",
        r#"{"__metadata__":{"format":"pt"},"w":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#,
        16,
    );
    let report = scan_file(&valid).unwrap();
    assert_eq!(report.format, Format::Safetensors);
    assert!(report.is_clean(), "{report:#?}");
    let header = report.safetensors.as_ref().unwrap();
    assert_eq!(
        (header.tensors, header.metadata_keys.as_slice()),
        (2, &["format".to_owned()][..])
    );

    let overlapping = safetensors(
        dir.path(),
        "overlap.safetensors",
        r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
        12,
    );
    let report = scan_file(&overlapping).unwrap();
    assert_eq!(
        messages(&report),
        ["tensor `b`: data_offsets [4, 12] overlap tensor `a`, which ends at 8"]
    );
    assert_eq!(report.problems[0].tensor.as_deref(), Some("b"));

    // A header length past the end of the file, and one over the 100 MB limit.
    let path = dir.path().join("long.safetensors");
    let mut bytes = 1000u64.to_le_bytes().to_vec();
    bytes.extend_from_slice(b"{}");
    fs_err::write(&path, &bytes).unwrap();
    assert_eq!(
        messages(&scan_file(&path).unwrap()),
        ["the header length 1000 goes past the end of the file (10 bytes)"]
    );
    bytes[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    fs_err::write(&path, &bytes).unwrap();
    assert_eq!(
        messages(&scan_file(&path).unwrap()),
        ["the header length 18446744073709551615 is over the 100 MB limit of safetensors readers"]
    );

    let bad_dtype = safetensors(
        dir.path(),
        "dtype.safetensors",
        r#"{"x":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}"#,
        16,
    );
    assert_eq!(
        messages(&scan_file(&bad_dtype).unwrap()),
        ["tensor `x`: unknown dtype \"F128\""]
    );

    let mismatch = safetensors(
        dir.path(),
        "size.safetensors",
        r#"{"x":{"dtype":"F16","shape":[3,3],"data_offsets":[0,16]}}"#,
        16,
    );
    assert_eq!(
        messages(&scan_file(&mismatch).unwrap()),
        ["tensor `x`: data_offsets [0, 16] hold 16 bytes, but shape [3, 3] of F16 needs 18"]
    );

    let past_end = safetensors(
        dir.path(),
        "short.safetensors",
        r#"{"x":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}"#,
        4,
    );
    assert_eq!(
        messages(&scan_file(&past_end).unwrap()),
        ["tensor `x`: data_offsets [0, 8] end past the data section (4 bytes)"]
    );

    // Named .safetensors but not one: the broken header is reported, the format is unknown.
    let path = dir.path().join("broken.safetensors");
    fs_err::write(&path, b"\x02\x00\x00\x00\x00\x00\x00\x00[]").unwrap();
    let report = scan_file(&path).unwrap();
    assert_eq!(report.format, Format::Unknown);
    assert_eq!(messages(&report), ["the header does not start with `{`"]);
}

#[test]
fn other_formats_are_detected_and_not_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let gguf = dir.path().join("model.gguf");
    fs_err::write(&gguf, b"GGUF\x03\x00\x00\x00rest").unwrap();
    let report = scan_file(&gguf).unwrap();
    assert_eq!(report.format, Format::Gguf);
    assert!(report.findings.is_empty() && report.problems.is_empty());

    // A zip that is not one (only the magic) is a problem of the archive.
    let zip = dir.path().join("broken.pt");
    fs_err::write(&zip, b"PK\x03\x04garbage").unwrap();
    let report = scan_file(&zip).unwrap();
    assert_eq!(report.format, Format::Zip);
    assert_eq!(report.problems[0].kind, ProblemKind::Archive);

    let missing = scan_file(&dir.path().join("missing.bin")).unwrap_err();
    assert!(missing.to_string().contains("missing.bin"), "{missing}");
}
